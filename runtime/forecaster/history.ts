/**
 * A query's samples as the planner needs them: on the grid of the step, oldest first, no holes. Pure.
 *
 * Prometheus leaves a step out when the series had no sample in its lookback (5 minutes by default) or was marked
 * stale (its target went away). A hole between two samples is filled by a straight line between them, so the
 * planner's step-indexed arithmetic stays true and the filled steps are marked (the model's error is not scored on
 * them). Steps after the newest sample are not invented: they wait until a sample after them arrives.
 */

/** The history on the grid: `observed[i]` is false where the value was filled in. */
export interface GridHistory {
  readonly timestamps: number[];
  readonly values: number[];
  readonly observed: boolean[];
}

/**
 * `timestamps`/`values` of one range query put on the grid of `step` (seconds; the query's own grid). NaN samples
 * count as missing. Leading missing steps are dropped; so are trailing ones.
 */
export function gridHistory(timestamps: readonly number[], values: readonly number[], step: number): GridHistory {
  const out: GridHistory = { timestamps: [], values: [], observed: [] };
  let last: { t: number; v: number } | undefined;
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i];
    const v = values[i];
    if (!Number.isFinite(v) || (last && t <= last.t)) continue;
    if (last) {
      const missing = Math.round((t - last.t) / step) - 1;
      for (let k = 1; k <= missing; k++) {
        out.timestamps.push(last.t + k * step);
        out.values.push(last.v + ((v - last.v) * k) / (missing + 1));
        out.observed.push(false);
      }
    }
    out.timestamps.push(t);
    out.values.push(v);
    out.observed.push(true);
    last = { t, v };
  }
  return out;
}

/** The end of the newest whole step at `nowSeconds`: queries evaluate on multiples of the step, so every run shares one grid. */
export function alignedEnd(nowSeconds: number, step: number): number {
  return Math.floor(nowSeconds / step) * step;
}

/** Index of the first timestamp at or after `from` (timestamps ascending). */
export function firstIndexFrom(timestamps: readonly number[], from: number): number {
  let lo = 0;
  let hi = timestamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timestamps[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
