import { createCapacityPlanner, PlannerOptionError } from '../../../runtime/forecast';
import { desiredReplicas, leadTimeMax } from '../../../runtime/forecast/capacity-policy';
import type { CapacityPlannerOptions } from '../../../runtime/forecast';
import * as runtimeApi from '../../../runtime';
import { inverseErrorWeights } from '../../../runtime/forecast/seasonal-level';

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
    // THEN the forecast is the load, the band has no width and 550 * 1.2 / 100 = 6.6 -> 7
    expect(plan.forecast).toEqual([550, 550, 550, 550, 550]);
    expect(plan.quantiles).toEqual({ p50: [550, 550, 550, 550, 550], p90: [550, 550, 550, 550, 550] });
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

  test('a season that rose at this time of the day before raises the forecast within the lead time', () => {
    // GIVEN a season of 20 minutes: 200 for 10 minutes, then 900 for 10; three seasons of history
    const values = Array.from({ length: 66 }, (_, i) => (i % 20 < 10 ? 200 : 900));
    // WHEN planned at minute 5 of a season, with the last 30 minutes of forecasts (all made with a past season) as evidence
    const plan = planSteps({ ...BASE, seasons: 2, seasonSeconds: 1200, errorWindowSeconds: 1800 }, values, 60);
    // THEN the season was exact, so it has all the weight and the band no width: 900 arrives 5 minutes ahead
    expect(plan.forecast).toEqual([200, 200, 200, 200, 900]);
    expect(plan.desiredReplicas).toEqual([2, 2, 2, 2, 9]);
    expect(plan.replicas).toBe(9);
  });

  test.each([
    [{ stepSeconds: 0 }, `'stepSeconds' (0) must be a positive number of seconds`],
    [{ stepSeconds: -60 }, `'stepSeconds' (-60) must be a positive number of seconds`],
    [{ targetPerPod: NaN }, `'targetPerPod' (NaN) must be a positive number`],
    [{ minReplicas: 5, maxReplicas: 3 }, `'maxReplicas' (3) must be at least 'minReplicas' (5)`],
    [{ leadTimeSeconds: 30 }, `'leadTimeSeconds' (30) must be at least 'stepSeconds' (60)`],
    [{ quantile: 1 }, `'quantile' (1) must be at least 0.5 and below 1`],
    [{ maxScaleDownFraction: 0 }, `'maxScaleDownFraction' (0) must be above 0 and at most 1`],
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
