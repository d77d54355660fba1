/**
 * Kedastral's baseline model and capacity planner as eval.js' header describes them (read there, written here):
 * each minute a fresh fit on the trailing 180 points: a level, a trend (OLS slope of the last 10 points), an
 * acceleration (difference of the slopes ending each half of the window), blended with the mean of the
 * minute-of-hour bucket (or the hour-of-day bucket) of the target minute.
 */

const WINDOW = 180;
const SLOPE_POINTS = 10;

/** OLS slope per point of `y[lo..hi)` against 0, 1, ...; 0 for fewer than two points. */
export function olsSlope(y: ArrayLike<number>, lo: number, hi: number): number {
  const n = hi - lo;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  let meanY = 0;
  for (let i = lo; i < hi; i++) meanY += y[i] / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - meanX) * (y[lo + i] - meanY);
    den += (i - meanX) ** 2;
  }
  return num / den;
}

interface Bucket {
  sum: number;
  n: number;
  max: number;
}

/** Forecasts for `t + 1 .. t + steps` from `y[t - 179 .. t]`. */
export function kedastralBaseline(y: ArrayLike<number>, timestamps: ArrayLike<number>, t: number, steps: number): number[] {
  const lo = Math.max(0, t - WINDOW + 1);
  const n = t + 1 - lo;
  const minuteOfHour: Bucket[] = Array.from({ length: 60 }, () => ({ sum: 0, n: 0, max: -Infinity }));
  const hourOfDay: Bucket[] = Array.from({ length: 24 }, () => ({ sum: 0, n: 0, max: -Infinity }));
  for (let i = lo; i <= t; i++) {
    const minute = Math.floor(timestamps[i] / 60);
    for (const bucket of [minuteOfHour[minute % 60], hourOfDay[Math.floor(minute / 60) % 24]]) {
      bucket.sum += y[i];
      bucket.n++;
      bucket.max = Math.max(bucket.max, y[i]);
    }
  }
  const trailingSlope = (from: number, to: number) => olsSlope(y, Math.max(from, to - SLOPE_POINTS), to);
  const trend = trailingSlope(lo, t + 1);
  const half = lo + Math.floor(n / 2);
  const accel = n < 6 ? 0 : trailingSlope(half, t + 1) - trailingSlope(lo, half);
  const now = Math.floor(timestamps[t] / 60);
  const out: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const base = y[t] + trend * k + 0.5 * accel * k * k;
    let bucket = minuteOfHour[(now + k) % 60];
    if (bucket.n < 2) bucket = hourOfDay[(Math.floor(now / 60) + Math.floor(k / 60)) % 24];
    let f = base;
    if (bucket.n >= 2) {
      const mean = bucket.sum / bucket.n;
      const seasonal = accel > 0 && bucket.max > mean ? 0.7 * mean + 0.3 * bucket.max : mean;
      const ratio = seasonal / (base + 1);
      const weight = ratio > 1.5 ? 0.2 : ratio > 1.2 ? 0.3 : ratio < 0.8 ? 0.4 : 0.5;
      f = weight * base + (1 - weight) * seasonal;
    }
    out.push(Math.max(0, f));
  }
  return out;
}
