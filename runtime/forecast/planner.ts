/**
 * `createCapacityPlanner(options)`: the model and the capacity policy behind one object, called once per step with
 * the whole history up to now. No IO, no clock: the same history gives the same plan, so any harness can evaluate it
 * offline (bench/forecast.ts, the eval plug-in in eval-policy.ts).
 */
import { ADDITIVE_BAND, BandFamily, quantileOfSorted, RELATIVE_BAND, volatility } from './error-band';
import { desiredReplicas, leadTimeMax } from './capacity-policy';
import { CapacityPlannerOptions, PlannerOptionError, quantileKey, resolvePlannerOptions } from './options';
import { History, inverseErrorWeights, seasonalLevelForecast, seasonalRise } from './seasonal-level';

/** One step's plan. Arrays hold one value per step after now: index 0 is `now + stepSeconds`. */
export interface CapacityPlan {
  /** The point forecast of the metric. */
  readonly forecast: number[];
  /**
   * The band by quantile key ("p50", "p97", ...), the sizing quantile among them: at index k, the level the most load
   * over the next k + 1 steps (up to the pod start) stays under with that probability.
   */
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

/** A flat load must not give the band a zero scale (one blip's score would be infinite): at least this many pods. */
const VOLATILITY_FLOOR_PODS = 0.05;

/**
 * What the band recorded at one step: per level it starts from (the load now, the mean of the last `levelSteps`) the
 * upper forecast per horizon, and the volatility it is scaled by.
 */
interface BandPoint {
  readonly upper: number[][];
  readonly scale: number;
}

/** A band the planner may size by: the level it starts from (0 the load now, 1 the recent mean) and its family. */
interface Candidate {
  readonly level: number;
  readonly family: BandFamily;
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
  const calibration = Math.round(o.calibrationWindowSeconds / o.stepSeconds);
  const seasonSteps = Math.round(o.seasonSeconds / o.stepSeconds);
  // Older changes than this weigh under a thousandth of the newest in the volatility.
  const volatilitySpan = Math.ceil(Math.log(1e-3) / Math.log(1 - o.volatilityWeight));
  const volatilityFloor = VOLATILITY_FLOOR_PODS * o.targetPerPod;
  const sizingKey = quantileKey(o.quantile);
  const reported = [...new Set([...o.reportQuantiles, o.quantile])].sort((a, b) => a - b);
  // Past forecasts and band points by the timestamp they were made at: each step adds one, the windows read them.
  const made = new Map<number, number[][]>();
  const band = new Map<number, BandPoint>();
  let previous: number | undefined;
  const families = o.relativeBand ? [ADDITIVE_BAND, RELATIVE_BAND] : [ADDITIVE_BAND];
  const candidates: Candidate[] = families.flatMap((family) => [0, 1].map((level) => ({ level, family })));

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

  /** The band point of index `t`: each level plus the rise past days saw by each horizon, and the volatility. */
  const bandAt = (history: History, t: number): BandPoint => {
    const at = history.timestamps[t];
    let b = band.get(at);
    if (!b) {
      const { values } = history;
      const rise = Array.from({ length: bandSteps }, (_, k) => seasonalRise(history, t, k + 1, o.stepSeconds, seasonSteps, o.riseSeasons, o.riseJitterSteps, o.riseAgreement));
      let sum = 0;
      for (let i = Math.max(0, t - o.levelSteps + 1); i <= t; i++) sum += values[i];
      const levels = [values[t], sum / (t + 1 - Math.max(0, t - o.levelSteps + 1))];
      b = { upper: levels.map((level) => rise.map((r) => level + r)), scale: volatility(values, t, o.volatilityWeight, volatilitySpan, volatilityFloor) };
      band.set(at, b);
    }
    return b;
  };

  return {
    plan(timestamps, values) {
      const t = values.length - 1;
      if (t < 0 || timestamps.length !== values.length) {
        throw new PlannerOptionError('values', values.length, `must be a non-empty history as long as 'timestamps' (${timestamps.length})`);
      }
      for (const v of [values[t], timestamps[t]]) if (!Number.isFinite(v)) throw new PlannerOptionError('values', v, 'must end in a finite sample');
      const history: History = { timestamps, values };
      // The point forecast: each candidate's weight per horizon from its squared errors over the window
      // (inverse-error weights): a workload whose days (or hours) repeat follows them, one whose do not the level.
      const squared = Array.from({ length: 1 + seasonals.length }, () => new Array<number>(steps).fill(0));
      const from = Math.max(0, t - window);
      for (let i = from; i < t; i++) {
        const candidates = candidatesAt(history, i);
        for (let k = 0; k < steps && i + k + 1 <= t; k++) candidates.forEach((f, c) => (squared[c][k] += (values[i + k + 1] - f[k]) ** 2));
      }
      const weights = Array.from({ length: steps }, (_, k) => inverseErrorWeights(squared.map((sq) => sq[k])));
      const now = candidatesAt(history, t);
      const forecast = Array.from({ length: steps }, (_, k) => now.reduce((sum, f, c) => sum + weights[k][c] * f[k], 0));
      // The band: per candidate (a level it starts from, a family that widens it), scores[c][k] of the band points
      // whose next k + 1 steps have all come within the calibration window.
      const scores = candidates.map(() => Array.from({ length: bandSteps }, () => [] as number[]));
      const points: BandPoint[] = [];
      for (let i = Math.max(1, t - calibration); i < t; i++) {
        const b = bandAt(history, i);
        let most = -Infinity;
        for (let k = 0; k < bandSteps && i + k + 1 <= t; k++) {
          most = Math.max(most, values[i + k + 1]);
          candidates.forEach(({ level, family }, c) => scores[c][k].push(family.score(most, b.upper[level][k], b.scale)));
        }
        if (i + bandSteps <= t) points.push(b);
      }
      for (const s of scores.flat()) s.sort((a, b) => a - b);
      // The candidate whose band at the sizing quantile and the pod start would have been lowest over the window.
      const last = bandSteps - 1;
      const height = ({ level, family }: Candidate, c: number) => {
        const q = quantileOfSorted(scores[c][last], o.quantile);
        return points.reduce((sum, b) => sum + family.bound(b.upper[level][last], q, b.scale), 0);
      };
      const heights = candidates.map(height);
      const chosen = heights.indexOf(Math.min(...heights));
      const { level, family } = candidates[chosen];
      const current = bandAt(history, t);
      const oldest = timestamps[Math.max(0, t - Math.max(window, calibration) - 1)];
      for (const cache of [made, band]) for (const key of cache.keys()) if (key < oldest) cache.delete(key);
      const quantiles: Record<string, number[]> = {};
      for (const q of reported) {
        const byHorizon = current.upper[level].map((u, k) => Math.max(0, family.bound(u, quantileOfSorted(scores[chosen][k], q), current.scale)));
        quantiles[quantileKey(q)] = forecast.map((_, k) => byHorizon[Math.min(k, last)]);
      }
      const desired = desiredReplicas(o, quantiles[sizingKey], previous);
      previous = desired[0];
      return { forecast, quantiles, desiredReplicas: desired, replicas: leadTimeMax(desired, steps) };
    },
  };
}
