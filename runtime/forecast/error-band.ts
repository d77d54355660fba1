/**
 * The band the pods are sized by: a conformal band scaled by the recent volatility. At each step the planner records
 * an upper forecast `P` and the volatility `s` (a moving average of the absolute one-step changes); once the steps
 * after it have come, the score of that step is `(most load over the next k steps - P) / s`. The `q` quantile of
 * the scores of the last day, times today's volatility, over today's `P`, covers the next k steps with probability
 * about `q` however volatile the load is: a volatile stretch widens the band, a calm one narrows it, instead of a
 * fixed headroom.
 */

/** The `q` quantile of `sorted` (ascending), interpolated between ranks; 0 for no values. */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (!sorted.length) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The volatility at index `t`: the exponentially weighted mean of `|values[i] - values[i - 1]|` over the last
 * `span` changes up to `t`, the newest weighing `weight` and each older one `1 - weight` times the next; at least
 * `floor`. Read from the history alone, so it does not depend on which steps were planned before.
 */
export function volatility(values: ArrayLike<number>, t: number, weight: number, span: number, floor: number): number {
  let sum = 0;
  let total = 0;
  let w = weight;
  for (let i = t; i > Math.max(0, t - span); i--) {
    sum += w * Math.abs(values[i] - values[i - 1]);
    total += w;
    w *= 1 - weight;
  }
  return Math.max(floor, total ? sum / total : 0);
}

/**
 * How a band widens an upper forecast `upper` made with volatility `scale`: `score` once `most` (the load that came)
 * is known, `bound` the level a score `s` gives. Additive: the band is `s` volatilities over `upper` (noise that
 * does not grow with the load). Relative: `upper` times `s` (noise in proportion to the load, as a fixed headroom);
 * `scale` floors the base so a load near zero does not give an unbounded ratio.
 */
export interface BandFamily {
  score(most: number, upper: number, scale: number): number;
  bound(upper: number, s: number, scale: number): number;
}

export const ADDITIVE_BAND: BandFamily = {
  score: (most, upper, scale) => (most - upper) / scale,
  bound: (upper, s, scale) => upper + s * scale,
};

export const RELATIVE_BAND: BandFamily = {
  score: (most, upper, scale) => most / Math.max(upper, scale),
  bound: (upper, s, scale) => Math.max(upper, scale) * s,
};
