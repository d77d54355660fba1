/**
 * The point forecast: the current load carried forward, plus the change the same stretch of time brought in past
 * seasons (days). `seasons` 0 is plain persistence. And the rise past days saw at this time, which the band starts
 * from. Pure: reads the history it is given, keeps nothing.
 */

/** The history as the planner receives it: unix seconds and values, oldest first, on a grid of `stepSeconds`. */
export interface History {
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** The mean of `values[at - radius .. at + radius]` within `[0, last]`, or NaN when `at` is outside. */
function smoothedAt(values: ArrayLike<number>, at: number, last: number, radius: number): number {
  if (at < 0 || at > last) return NaN;
  let sum = 0;
  let n = 0;
  for (let j = Math.max(0, at - radius); j <= Math.min(last, at + radius); j++) {
    sum += values[j];
    n++;
  }
  return sum / n;
}

/**
 * Forecasts for `t + 1 .. t + steps` made at index `t` of the history (only samples up to `t` are read).
 * `seasonSteps` is the season in steps; each past point is the mean of `radius` samples either side of it, so one
 * noisy minute of a past day does not become a forecast step. A past season counts only where the history lies on the grid there (its
 * timestamp is the expected one), so a gap in the history never shifts a season.
 */
export function seasonalLevelForecast(history: History, t: number, steps: number, stepSeconds: number, seasonSteps: number, seasons: number, radius: number): number[] {
  const { timestamps, values } = history;
  const level = values[t];
  const out = new Array<number>(steps).fill(0);
  const counts = new Array<number>(steps).fill(0);
  for (let d = 1; d <= seasons; d++) {
    const then = t - d * seasonSteps;
    if (then < 0 || Math.abs(timestamps[t] - timestamps[then] - d * seasonSteps * stepSeconds) > stepSeconds / 2) continue;
    const base = smoothedAt(values, then, t, radius);
    for (let k = 1; k <= steps; k++) {
      const later = smoothedAt(values, then + k, t, radius);
      if (Number.isNaN(later)) continue;
      out[k - 1] += later - base;
      counts[k - 1]++;
    }
  }
  return out.map((change, i) => Math.max(0, level + (counts[i] ? change / counts[i] : 0)));
}

/**
 * Weights of forecasts from their squared errors over the same recent points: inverse-error weighting. Forecasts
 * that were exact share all the weight; with no errors at all, every forecast weighs the same.
 */
export function inverseErrorWeights(squaredErrors: readonly number[]): number[] {
  const exact = squaredErrors.map((e): number => (e === 0 ? 1 : 0));
  const exactCount = exact.reduce((a, b) => a + b, 0);
  if (exactCount) return exact.map((e) => e / exactCount);
  const inverse = squaredErrors.map((e) => 1 / e);
  const total = inverse.reduce((a, b) => a + b, 0);
  return inverse.map((w) => w / total);
}

/**
 * The rise the same time of the day brought before: for each of the last `seasons` days, the most the load rose
 * from any point within `jitter` steps of this time to within `steps` steps after it (a job that starts a minute
 * early or late is the same job); the `agreement`-th largest of those rises (the rise at least `agreement` of the
 * days saw), at least 0. Only samples up to `t` are read; a day whose timestamps are off the grid is skipped.
 */
export function seasonalRise(history: History, t: number, steps: number, stepSeconds: number, seasonSteps: number, seasons: number, jitter: number, agreement: number): number {
  const { timestamps, values } = history;
  const rises: number[] = [];
  for (let d = 1; d <= seasons; d++) {
    const then = t - d * seasonSteps;
    if (then - jitter < 0 || Math.abs(timestamps[t] - timestamps[then] - d * seasonSteps * stepSeconds) > stepSeconds / 2) continue;
    let rise = 0;
    for (let j = -jitter; j <= jitter; j++) {
      for (let k = 1; k <= steps && then + j + k <= t; k++) rise = Math.max(rise, values[then + j + k] - values[then + j]);
    }
    rises.push(rise);
  }
  rises.sort((a, b) => b - a);
  return rises.length ? rises[Math.min(agreement, rises.length) - 1] : 0;
}
