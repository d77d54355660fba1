import { createCapacityPlanner, PlannerOptionError } from '../../../runtime/forecast';
import { desiredReplicas, leadTimeMax } from '../../../runtime/forecast/capacity-policy';
import type { CapacityPlannerOptions } from '../../../runtime/forecast';
import * as runtimeApi from '../../../runtime';
import { ADDITIVE_BAND, RELATIVE_BAND, volatility } from '../../../runtime/forecast/error-band';
import { inverseErrorWeights, seasonalRise } from '../../../runtime/forecast/seasonal-level';

const BASE: CapacityPlannerOptions = { targetPerPod: 100, maxReplicas: 50, leadTimeSeconds: 300, stepSeconds: 60 };
const START = 1_700_000_000;

/** A one-minute history of `values`. */
function history(values: number[]): [number[], number[]] {
  return [values.map((_, i) => START + 60 * i), values];
}

/** Plans every prefix of `values` in order, as a forecaster does step by step; returns the last plan. */
function planSteps(options: CapacityPlannerOptions, values: number[], from = 1) {
  const planner = createCapacityPlanner(options);
  const [ts] = history(values);
  let plan = planner.plan(ts.slice(0, from), values.slice(0, from));
  for (let n = from + 1; n <= values.length; n++) plan = planner.plan(ts.slice(0, n), values.slice(0, n));
  return plan;
}

describe('createCapacityPlanner', () => {
  test('a constant load gives ceil(v * headroom / targetPerPod) at every step', () => {
    // GIVEN a steady 550 for two hours
    const plan = planSteps({ ...BASE, headroom: 1.2 }, new Array(120).fill(550), 100);
    // THEN the forecast is the load, every score is 0 so the band has no width, and 550 * 1.2 / 100 = 6.6 -> 7
    expect(plan.forecast).toEqual([550, 550, 550, 550, 550]);
    expect(plan.quantiles).toEqual({ p50: [550, 550, 550, 550, 550], p90: [550, 550, 550, 550, 550], p95: [550, 550, 550, 550, 550] });
    expect(plan.desiredReplicas).toEqual([7, 7, 7, 7, 7]);
    expect(plan.replicas).toBe(7);
  });

  test('a load needing exactly 6 pods orders 6', () => {
    expect(planSteps(BASE, new Array(30).fill(600)).replicas).toBe(6);
  });

  test('the sizing quantile is reported under its key', () => {
    const plan = planSteps({ ...BASE, quantile: 0.975, reportQuantiles: [0.25] }, new Array(10).fill(100));
    expect(Object.keys(plan.quantiles)).toEqual(['p25', 'p97.5']);
  });

  test('clamps to minReplicas and maxReplicas', () => {
    expect(planSteps({ ...BASE, minReplicas: 2 }, new Array(30).fill(10)).replicas).toBe(2);
    expect(planSteps({ ...BASE, maxReplicas: 20 }, new Array(30).fill(10_000)).replicas).toBe(20);
  });

  test('a jump is limited to maxScaleUpFactor per step; the lead-time max reports the step after', () => {
    // GIVEN 100 minutes at 300 (3 pods), then 800
    const values = [...new Array(100).fill(300), 800];
    const plan = planSteps({ ...BASE, seasons: 0, maxScaleUpFactor: 2 }, values, 100);
    // THEN the first step may double from 3 (6), the next reaches 8, and the scaler reports 8
    expect(plan.forecast).toEqual([800, 800, 800, 800, 800]);
    expect(plan.desiredReplicas).toEqual([6, 8, 8, 8, 8]);
    expect(plan.replicas).toBe(8);
  });

  test('a drop is limited to maxScaleDownFraction per step, and the scaler keeps the largest count', () => {
    const values = [...new Array(100).fill(800), 100];
    const plan = planSteps({ ...BASE, seasons: 0, maxScaleDownFraction: 0.5 }, values, 100);
    expect(plan.desiredReplicas).toEqual([4, 2, 1, 1, 1]);
    expect(plan.replicas).toBe(4);
  });

  test('a rise two past days saw at this time is ordered ahead, a step early for a job that may start early', () => {
    // GIVEN a season of 20 minutes: 200 for 10 minutes, then 900 for 10; three seasons of history
    const values = Array.from({ length: 66 }, (_, i) => (i % 20 < 10 ? 200 : 900));
    // WHEN planned at minute 5 of a season, the band calibrated on the last season (every point of it has two before)
    const options = { ...BASE, seasons: 2, seasonSeconds: 1200, riseSeasons: 2, errorWindowSeconds: 1800, calibrationWindowSeconds: 1200 };
    const plan = planSteps(options, values, 60);
    // THEN the point forecast follows the season (900 five minutes ahead) and the band starts from the rise both past
    // seasons saw within each horizon: from minute 4, 5 or 6 (the jitter), 900 comes within 4 steps. The upper forecast
    // was never exceeded in the window (the highest score is 0), so the band is the upper forecast itself.
    expect(plan.forecast).toEqual([200, 200, 200, 200, 900]);
    expect(plan.quantiles.p95).toEqual([200, 200, 200, 900, 900]);
    expect(plan.desiredReplicas).toEqual([2, 2, 2, 9, 9]);
    expect(plan.replicas).toBe(9);
  });

  describe('on a load that swings by `swing` every minute, ending high', () => {
    const options = { ...BASE, targetPerPod: 10, maxReplicas: 100, seasons: 0, shortSeasons: 0, riseSeasons: 0 };
    const swinging = (swing: number) => Array.from({ length: 121 }, (_, i) => (i % 2 ? 500 : 500 + swing));

    test('the band is the recent volatility times the calibrated score: twice the swing, twice the band', () => {
      // GIVEN the band started from the load now alone
      const now = { ...options, levelSteps: 1 };
      // THEN the volatility is the swing, the next minutes' load rose by at most one swing (score 1), so p95 = 520 + 20
      expect(planSteps(now, swinging(20), 100).quantiles.p95).toEqual([540, 540, 540, 540, 540]);
      expect(planSteps(now, swinging(40), 100).quantiles.p95).toEqual([580, 580, 580, 580, 580]);
      expect(planSteps(now, swinging(40), 100).replicas).toBe(58);
    });

    test('the mean of the last 3 is the level when its band is the lower at the same coverage', () => {
      // GIVEN the default levels: the load now (band 520 or 500, + 20) and the mean of the last 3 samples
      const plan = planSteps(options, swinging(20), 100);
      // THEN from the mean, the next minutes rose by at most 2/3 of a swing: its band is 506.67 + 13.33 after a low
      // minute and 513.33 + 13.33 after a high one (523.33 on average, against 520 and 540 from the load now: 530),
      // so the mean is used: (520 + 500 + 520) / 3 + 20 * 2/3 now
      for (const v of plan.quantiles.p95) expect(v).toBeCloseTo(1580 / 3, 9);
      expect(plan.replicas).toBe(53);
    });
  });

  describe('on a load with a spike of half its level every 5 minutes', () => {
    // GIVEN 400 with a one-minute spike to 600 every fifth minute, for two hours, ending two minutes after a spike
    const values = Array.from({ length: 122 }, (_, i) => (i % 5 === 4 ? 600 : 400));
    const options = { ...BASE, seasons: 0, shortSeasons: 0, riseSeasons: 0, levelSteps: 1 };

    test('the relative band is used when it would have been the lower: the spikes are half the level, so 1.5 x 400', () => {
      // THEN at every horizon at least 1 of every 5 minutes has a spike coming (ratio 1.5), more than the 5 % above
      // the quantile: the band is 1.5 x the level. Volatilities over the level would have been higher:
      // the volatility decays between spikes, so the minutes before a spike score highest and the others pay for it.
      const plan = planSteps(options, values, 100);
      expect(plan.quantiles.p95).toEqual([600, 600, 600, 600, 600]);
      expect(plan.replicas).toBe(6);
      const additive = planSteps({ ...options, relativeBand: false }, values, 100);
      for (const v of additive.quantiles.p95) expect(v).toBeGreaterThan(600);
      expect(additive.replicas).toBe(7);
    });
  });

  test.each([
    [{ stepSeconds: 0 }, `'stepSeconds' (0) must be a positive number of seconds`],
    [{ stepSeconds: -60 }, `'stepSeconds' (-60) must be a positive number of seconds`],
    [{ targetPerPod: NaN }, `'targetPerPod' (NaN) must be a positive number`],
    [{ minReplicas: 5, maxReplicas: 3 }, `'maxReplicas' (3) must be at least 'minReplicas' (5)`],
    [{ leadTimeSeconds: 30 }, `'leadTimeSeconds' (30) must be at least 'stepSeconds' (60)`],
    [{ quantile: 1 }, `'quantile' (1) must be at least 0.5 and below 1`],
    [{ maxScaleDownFraction: 0 }, `'maxScaleDownFraction' (0) must be above 0 and at most 1`],
    [{ volatilityWeight: 1 }, `'volatilityWeight' (1) must be above 0 and below 1`],
    [{ riseAgreement: 0 }, `'riseAgreement' (0) must be an integer of at least 1`],
    [{ levelSteps: 0 }, `'levelSteps' (0) must be an integer of at least 1`],
    [{ calibrationWindowSeconds: 0 }, `'calibrationWindowSeconds' (0) must be at least 'stepSeconds' (60)`],
    [{ reportQuantiles: [0.5, 2] }, `'reportQuantiles' ([0.5, 2]) must be a list of numbers above 0 and below 1`],
  ])('rejects %j', (bad, message) => {
    expect(() => createCapacityPlanner({ ...BASE, ...bad })).toThrow(PlannerOptionError);
    expect(() => createCapacityPlanner({ ...BASE, ...bad })).toThrow(`capacity planner: ${message}`);
  });

  test('rejects an empty history and one that does not end in a number', () => {
    const planner = createCapacityPlanner(BASE);
    expect(() => planner.plan([], [])).toThrow(`capacity planner: 'values' (0) must be a non-empty history as long as 'timestamps' (0)`);
    expect(() => planner.plan([START], [NaN])).toThrow(`capacity planner: 'values' (NaN) must end in a finite sample`);
  });
});

test('the runtime API exports the planner', () => {
  expect(runtimeApi.createCapacityPlanner).toBe(createCapacityPlanner);
});

test('forecasts are weighted by the inverse of their recent squared errors', () => {
  expect(inverseErrorWeights([4, 0])).toEqual([0, 1]);
  expect(inverseErrorWeights([4, 4])).toEqual([0.5, 0.5]);
  expect(inverseErrorWeights([1, 3])).toEqual([0.75, 0.25]);
  expect(inverseErrorWeights([2, 0, 0])).toEqual([0, 0.5, 0.5]);
  expect(inverseErrorWeights([0, 0])).toEqual([0.5, 0.5]);
});

test('the volatility is the exponentially weighted mean absolute change, at least the floor', () => {
  // changes 10, 0, 30 (newest last), weights 0.125, 0.25, 0.5: (1.25 + 0 + 15) / 0.875
  expect(volatility([0, 10, 10, 40], 3, 0.5, 10, 0)).toBeCloseTo(16.25 / 0.875, 12);
  // a span of one change reads only the newest; a flat load gives the floor
  expect(volatility([0, 10, 10, 40], 3, 0.5, 1, 0)).toBe(30);
  expect(volatility([7, 7, 7], 2, 0.1, 50, 5)).toBe(5);
});

test("the seasonal rise is the n-th largest of the past days' rises at this time, within the jitter", () => {
  // GIVEN a 4-step season, three past seasons rising by 10, 30 and 20 from index 1 to 2 of the season
  const values = [0, 0, 0, 10, 10, 0, 0, 30, 30, 0, 0, 20, 20, 0, 0];
  const history = { timestamps: values.map((_, i) => START + 60 * i), values };
  // WHEN asked at index 13 (index 0 of the season) for 2 steps: the rise within 2 steps from index 0 or 1 of each season
  expect(seasonalRise(history, 13, 2, 60, 4, 3, 1, 1)).toBe(30);
  expect(seasonalRise(history, 13, 2, 60, 4, 3, 1, 2)).toBe(20);
  expect(seasonalRise(history, 13, 2, 60, 4, 3, 1, 3)).toBe(10);
  // one step ahead without jitter the rise is not there yet (it comes at the second step)
  expect(seasonalRise(history, 13, 1, 60, 4, 3, 0, 1)).toBe(0);
  // a past season off the grid (a gap in the timestamps) is skipped: of the two left, the smaller is the third largest
  const gapped = { timestamps: history.timestamps.map((ts, i) => (i < 2 ? ts - 3600 : ts)), values };
  expect(seasonalRise(gapped, 13, 2, 60, 4, 3, 1, 3)).toBe(20);
});

describe('capacity policy', () => {
  const policy = { targetPerPod: 100, minReplicas: 1, maxReplicas: 10, headroom: 1.2, maxScaleUpFactor: 2, maxScaleDownFraction: 0.5 };

  test('desired counts chain from the previous plan with the step limits', () => {
    expect(desiredReplicas(policy, [100, 500, 2000, 2000, 0], 1)).toEqual([2, 4, 8, 10, 5]);
    expect(desiredReplicas(policy, [500, 2000], undefined)).toEqual([6, 10]);
  });

  test('the lead-time max covers the given number of steps', () => {
    expect(leadTimeMax([2, 3, 9, 4], 2)).toBe(3);
    expect(leadTimeMax([2, 3, 9, 4], 3)).toBe(9);
  });
});

test('a band family gives back, for a score it gave, the load that was scored; the relative one floors its base', () => {
  for (const family of [ADDITIVE_BAND, RELATIVE_BAND]) {
    for (const [most, upper, scale] of [
      [550, 500, 20],
      [430, 500, 20],
      [30, 4, 10],
    ]) {
      expect(family.bound(upper, family.score(most, upper, scale), scale)).toBeCloseTo(most, 9);
    }
  }
  expect(ADDITIVE_BAND.score(550, 500, 20)).toBe(2.5);
  expect(RELATIVE_BAND.score(550, 500, 20)).toBe(1.1);
  // a base below the volatility floor counts as the floor: 30 over max(4, 10)
  expect(RELATIVE_BAND.score(30, 4, 10)).toBe(3);
  expect(RELATIVE_BAND.bound(0, 1.2, 10)).toBe(12);
});
