import { alignedEnd, firstIndexFrom, gridHistory } from '../../../runtime/forecaster/history';
import { ModelError } from '../../../runtime/forecaster/model-error';

describe('gridHistory', () => {
  test('a hole between two samples is filled by a straight line and marked as not observed', () => {
    // GIVEN steps of 60 s with 120, 180 and 240 missing, and a NaN at 360
    const h = gridHistory([0, 60, 300, 360, 420], [10, 20, 60, NaN, 80], 60);
    // THEN the grid is whole; 120..240 lie on the line from 20 to 60, 360 on the one from 60 to 80
    expect(h.timestamps).toEqual([0, 60, 120, 180, 240, 300, 360, 420]);
    expect(h.values).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
    expect(h.observed).toEqual([true, true, false, false, false, true, false, true]);
  });

  test('nothing is invented before the first sample or after the last', () => {
    const h = gridHistory([120, 180], [NaN, 5], 60);
    expect(h).toEqual({ timestamps: [180], values: [5], observed: [true] });
    expect(gridHistory([], [], 60)).toEqual({ timestamps: [], values: [], observed: [] });
  });

  test('queries end on multiples of the step, so every run shares one grid', () => {
    expect(alignedEnd(1_000_059.9, 60)).toBe(1_000_020);
    expect(alignedEnd(1_000_020, 60)).toBe(1_000_020);
    expect(firstIndexFrom([0, 60, 120], 61)).toBe(2);
    expect(firstIndexFrom([0, 60, 120], 0)).toBe(0);
    expect(firstIndexFrom([0, 60, 120], 121)).toBe(3);
  });
});

describe('ModelError', () => {
  test('scores each forecast against the actual of its instant; the mean is over the last hour', () => {
    // GIVEN forecasts every 60 s of 5 points (one to five minutes ahead)
    const e = new ModelError(60, 5);
    expect(e.horizons).toEqual([60, 300]);
    e.made(0, [10, 11, 12, 13, 14]);
    e.made(60, [20, 21, 22, 23, 24]);
    // WHEN the actuals of 60 and 120 arrive
    e.actual(60, 13); // the forecast of 0 for 60 was 10
    e.actual(120, 16); // the forecast of 60 for 120 was 20
    // THEN the 60 s error is the mean of 3 and 4; nothing 300 s ahead has come due
    expect(e.meanAbsoluteError(60)).toBe(3.5);
    expect(e.meanAbsoluteError(300)).toBeUndefined();
    e.actual(300, 20); // the forecast of 0 for 300 was 14
    expect(e.meanAbsoluteError(300)).toBe(6);
    // AND an hour later the old scores no longer count
    e.made(3700, [1, 1, 1, 1, 1]);
    e.actual(3760, 2);
    expect(e.meanAbsoluteError(60)).toBe(1);
  });

  test('a horizon that is not a whole number of steps within the forecast is not scored', () => {
    expect(new ModelError(45, 4).horizons).toEqual([]);
    expect(new ModelError(60, 4).horizons).toEqual([60]);
  });
});
