/** The scaler's reading of a forecast and of the trigger metadata: pure functions, exact values. */
import { ScalerError } from '../../../runtime/scaler/errors';
import { checkFresh, leadTimeMax, parseForecast, UsableForecast } from '../../../runtime/scaler/forecast-record';
import { parseDuration, parseTriggerMetadata } from '../../../runtime/scaler/metadata';
import { forecastRecord } from '../../support/forecast-records';

const T0 = Date.parse('2026-12-02T00:00:00Z');
const forecast = (desiredReplicas: number[], step = 60): UsableForecast => ({ workload: 'w', generatedAtMs: T0, step, desiredReplicas, leadTime: 300 });
const reasonOf = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return (error as ScalerError).reason;
  }
  return 'no error';
};

describe('leadTimeMax', () => {
  const f = forecast([1, 5, 2, 7, 3, 4]);
  test.each([
    // [seconds after generatedAt, lead time, expected]
    [0, 0, 1],
    [0, 59, 1],
    [0, 60, 5],
    [59.9, 0, 1],
    [60, 0, 5],
    [61, 120, 7],
    [61, 118, 5],
    [120, 59, 2],
    [120, 0, 2],
    [0, 300, 7],
    [240, 119, 4],
    [300, 59, 4],
    // a writer's clock ahead: the window starts at point 0
    [-5, 60, 5],
  ])('%s s after generatedAt, lead %s s: %s', (after, lead, expected) => {
    expect(leadTimeMax(f, T0 + after * 1000, lead)).toBe(expected);
  });

  test('a window past the last point is `horizon`; up to it is not', () => {
    expect(leadTimeMax(f, T0, 359)).toBe(7);
    expect(reasonOf(() => leadTimeMax(f, T0, 360))).toBe('horizon');
    expect(reasonOf(() => leadTimeMax(f, T0 + 300_000, 60))).toBe('horizon');
  });
});

test('checkFresh: older than staleAfter is `stale`, exactly staleAfter is not', () => {
  const f = forecast([1]);
  expect(() => checkFresh(f, T0 + 120_000, 120)).not.toThrow();
  expect(reasonOf(() => checkFresh(f, T0 + 120_001, 120))).toBe('stale');
});

describe('parseForecast', () => {
  test("a forecaster's record: the fields the scaler uses", () => {
    const record = forecastRecord('api', { ageSeconds: 30, desiredReplicas: [2, 3], step: 30, leadTime: 120 }, T0);
    expect(parseForecast(JSON.stringify(record), 'api')).toEqual({ workload: 'api', generatedAtMs: T0 - 30_000, step: 30, desiredReplicas: [2, 3], leadTime: 120 });
  });

  test.each([
    ['null', 'not an object'],
    ['[]', 'not an object'],
    ['{"workload":"api","generatedAt":"yesterday","step":60,"desiredReplicas":[1],"leadTime":0}', 'generatedAt "yesterday" is not an ISO 8601 time'],
    ['{"workload":"api","generatedAt":"2026-12-02T00:00:00Z","step":0,"desiredReplicas":[1],"leadTime":0}', 'step 0 is not a positive number'],
    ['{"workload":"api","generatedAt":"2026-12-02T00:00:00Z","step":60,"desiredReplicas":[],"leadTime":0}', 'desiredReplicas is not a non-empty array of non-negative numbers'],
    ['{"workload":"api","generatedAt":"2026-12-02T00:00:00Z","step":60,"desiredReplicas":[1,-1],"leadTime":0}', 'desiredReplicas is not a non-empty array of non-negative numbers'],
    ['{"workload":"api","generatedAt":"2026-12-02T00:00:00Z","step":60,"desiredReplicas":[1]}', 'leadTime undefined is not a non-negative number'],
  ])('%s is unreadable: %s', (text, what) => {
    expect(() => parseForecast(text, 'api')).toThrow(`the forecast of 'api' is not a forecast record: ${what}`);
  });
});

describe('trigger metadata', () => {
  test.each([
    ['300s', 300],
    ['5m', 300],
    ['1m30s', 90],
    ['1h', 3600],
    ['2.5s', 2.5],
    ['300', 300],
    [' 45 ', 45],
    ['0', 0],
  ])('duration %j is %s s', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  test.each(['', '5 m', '-5', 'm', '1s30m', '5min', 'PT5M'])('%j is no duration', (text) => expect(parseDuration(text)).toBeUndefined());

  test('workload, leadTime and staleAfter; absent durations stay undefined', () => {
    expect(parseTriggerMetadata({ workload: 'api', leadTime: '5m', staleAfter: '2m', scalerAddress: 'x:1' })).toEqual({
      workload: 'api',
      leadTimeSeconds: 300,
      staleAfterSeconds: 120,
    });
    expect(parseTriggerMetadata({ workload: 'api' })).toEqual({ workload: 'api', leadTimeSeconds: undefined, staleAfterSeconds: undefined });
    expect(() => parseTriggerMetadata({ workload: 'api', staleAfter: '0' })).toThrow(
      'trigger metadata \'staleAfter\' ("0") must be a duration such as 300s, 5m, 1m30s or plain seconds, above 0',
    );
    expect(() => parseTriggerMetadata(undefined)).toThrow("trigger metadata 'workload' is missing");
  });
});
