/**
 * The point forecast: the current load carried forward, plus the change the same stretch of time brought in past
 * seasons (days). `seasons` 0 is plain persistence. Pure: reads the history it is given, keeps nothing.
 */

/** Samples averaged around a past point, so one noisy minute of a past day does not become a forecast step. */
const SMOOTHING_RADIUS = 2;

/** The history as the planner receives it: unix seconds and values, oldest first, on a grid of `stepSeconds`. */
export interface History {
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** The mean of `values[at - r .. at + r]` within `[0, last]`, or NaN when `at` is outside. */
function smoothedAt(values: ArrayLike<number>, at: number, last: number): number {
  if (at < 0 || at > last) return NaN;
  let sum = 0;
  let n = 0;
  for (let j = Math.max(0, at - SMOOTHING_RADIUS); j <= Math.min(last, at + SMOOTHING_RADIUS); j++) {
    sum += values[j];
    n++;
  }
  return sum / n;
}

/**
 * Forecasts for `t + 1 .. t + steps` made at index `t` of the history (only samples up to `t` are read).
 * `seasonSteps` is the season in steps. A past season counts only where the history lies on the grid there (its
 * timestamp is the expected one), so a gap in the history never shifts a season.
 */
export function seasonalLevelForecast(history: History, t: number, steps: number, stepSeconds: number, seasonSteps: number, seasons: number): number[] {
  const { timestamps, values } = history;
  const level = values[t];
  const out = new Array<number>(steps).fill(0);
  const counts = new Array<number>(steps).fill(0);
  for (let d = 1; d <= seasons; d++) {
    const then = t - d * seasonSteps;
    if (then < 0 || Math.abs(timestamps[t] - timestamps[then] - d * seasonSteps * stepSeconds) > stepSeconds / 2) continue;
    const base = smoothedAt(values, then, t);
    for (let k = 1; k <= steps; k++) {
      const later = smoothedAt(values, then + k, t);
      if (Number.isNaN(later)) continue;
      out[k - 1] += later - base;
      counts[k - 1]++;
    }
  }
  return out.map((change, i) => Math.max(0, level + (counts[i] ? change / counts[i] : 0)));
}
