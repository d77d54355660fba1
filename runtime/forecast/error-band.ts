/**
 * The band around the point forecast: for each horizon, the empirical quantiles of the forecast's own recent errors,
 * relative to the forecast (so a level shift scales the band with it). A volatile stretch widens the band, a calm one
 * narrows it: the headroom follows the recent volatility instead of a fixed factor.
 */

/** The `q` quantile of `sorted` (ascending), interpolated between ranks. */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (!sorted.length) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The error of a forecast `f` against the value `y` that came, relative to `max(f, scale)` (scale: one pod's load). */
export function relativeError(y: number, f: number, scale: number): number {
  return (y - f) / Math.max(f, scale);
}

/** The value at quantile `q` of the band: `f` moved by that quantile of the relative errors. */
export function bandValue(f: number, sortedErrors: readonly number[], q: number, scale: number): number {
  return Math.max(0, f + quantileOfSorted(sortedErrors, q) * Math.max(f, scale));
}
