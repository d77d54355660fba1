/**
 * `createCapacityPlanner(options)`: the model and the capacity policy behind one object, called once per step with
 * the whole history up to now. No IO, no clock: the same history gives the same plan, so any harness can evaluate it
 * offline (bench/forecast.ts, the eval plug-in in eval-policy.ts).
 */
import { bandValue, relativeError } from './error-band';
import { desiredReplicas, leadTimeMax } from './capacity-policy';
import { CapacityPlannerOptions, PlannerOptionError, quantileKey, resolvePlannerOptions } from './options';
import { History, inverseErrorWeights, seasonalLevelForecast } from './seasonal-level';

/** One step's plan. Arrays hold one value per step after now: index 0 is `now + stepSeconds`. */
export interface CapacityPlan {
  /** The point forecast of the metric. */
  readonly forecast: number[];
  /** The forecast's quantiles by key ("p50", "p90", "p98", ...), the sizing quantile among them. */
  readonly quantiles: Record<string, number[]>;
  /** Replicas desired at each step, from the sizing quantile through the capacity policy. */
  readonly desiredReplicas: number[];
  /** What the scaler reports now: the largest desired count over `[now, now + leadTimeSeconds]`. */
  readonly replicas: number;
}

/** A planner: `plan` once per step, in time order, with the whole history so far. */
export interface CapacityPlanner {
  plan(timestamps: ArrayLike<number>, values: ArrayLike<number>): CapacityPlan;
}

/** A planner for one workload; throws {@link PlannerOptionError} for an option out of range. */
export function createCapacityPlanner(options: CapacityPlannerOptions): CapacityPlanner {
  const o = resolvePlannerOptions(options);
  const steps = Math.round(o.leadTimeSeconds / o.stepSeconds);
  // The candidates blended: the level carried forward, the daily season and the short (hourly) season.
  const seasonals = [
    { steps: Math.round(o.seasonSeconds / o.stepSeconds), count: o.seasons },
    { steps: Math.round(o.shortSeasonSeconds / o.stepSeconds), count: o.shortSeasons },
  ].filter((s) => s.count > 0);
  const bandSteps = Math.min(steps, Math.max(1, Math.round(o.podStartSeconds / o.stepSeconds)));
  const window = Math.round(o.errorWindowSeconds / o.stepSeconds);
  const sizingKey = quantileKey(o.quantile);
  const reported = [...new Set([...o.reportQuantiles, o.quantile])].sort((a, b) => a - b);
  // Past forecasts by the timestamp they were made at: each step adds one, the band reads the last `window`.
  const made = new Map<number, number[][]>();
  let previous: number | undefined;

  /** Each candidate's forecasts made at index `t`: [level, ...seasonal]. */
  const candidatesAt = (history: History, t: number): number[][] => {
    const at = history.timestamps[t];
    let f = made.get(at);
    if (!f) {
      f = [new Array<number>(steps).fill(history.values[t]), ...seasonals.map((s) => seasonalLevelForecast(history, t, steps, o.stepSeconds, s.steps, s.count, o.smoothingSteps))];
      made.set(at, f);
    }
    return f;
  };

  return {
    plan(timestamps, values) {
      const t = values.length - 1;
      if (t < 0 || timestamps.length !== values.length) {
        throw new PlannerOptionError('values', values.length, `must be a non-empty history as long as 'timestamps' (${timestamps.length})`);
      }
      for (const v of [values[t], timestamps[t]]) if (!Number.isFinite(v)) throw new PlannerOptionError('values', v, 'must end in a finite sample');
      const history: History = { timestamps, values };
      // Each candidate's weight per horizon, from its squared errors over the window (inverse-error weights): a
      // workload whose days (or hours) repeat follows them, one whose do not falls back to the level.
      const squared = Array.from({ length: 1 + seasonals.length }, () => new Array<number>(steps).fill(0));
      const from = Math.max(0, t - window);
      for (let i = from; i < t; i++) {
        const candidates = candidatesAt(history, i);
        for (let k = 0; k < steps && i + k + 1 <= t; k++) candidates.forEach((f, c) => (squared[c][k] += (values[i + k + 1] - f[k]) ** 2));
      }
      const weights = Array.from({ length: steps }, (_, k) => inverseErrorWeights(squared.map((sq) => sq[k])));
      const blend = (i: number, k: number) => candidatesAt(history, i).reduce((sum, f, c) => sum + weights[k][c] * f[k], 0);
      const forecast = Array.from({ length: steps }, (_, k) => blend(t, k));
      // errors[k]: relative errors of the blended forecasts k + 1 steps ahead that have come due within the window.
      const errors = Array.from({ length: bandSteps }, () => [] as number[]);
      for (let i = from; i < t; i++) {
        for (let k = 0; k < bandSteps && i + k + 1 <= t; k++) errors[k].push(relativeError(values[i + k + 1], blend(i, k), o.targetPerPod));
      }
      for (const e of errors) e.sort((a, b) => a - b);
      for (const key of made.keys()) if (key < timestamps[Math.max(0, t - window - 1)]) made.delete(key);
      const quantiles: Record<string, number[]> = {};
      for (const q of reported) quantiles[quantileKey(q)] = forecast.map((f, k) => bandValue(f, errors[Math.min(k, bandSteps - 1)], q, o.targetPerPod));
      const desired = desiredReplicas(o, quantiles[sizingKey], previous);
      previous = desired[0];
      return { forecast, quantiles, desiredReplicas: desired, replicas: leadTimeMax(desired, steps) };
    },
  };
}
