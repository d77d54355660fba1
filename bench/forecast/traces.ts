/**
 * Traces as the walk-forward evaluation reads them (the definitions of ../shared/tools/forecast-eval/eval.js'
 * header): `ts,value` CSV, samples averaged into one-minute buckets, a missing minute filled with the one before,
 * values scaled so the trace's p95 (nearest rank) is `P95_PODS` pods at `TARGET_PER_POD`.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Kedastral's default target per pod, and the pods the scaled p95 needs. */
export const TARGET_PER_POD = 100;
export const P95_PODS = 10;

/** One trace on the minute grid: `values` already scaled. */
export interface Trace {
  readonly name: string;
  readonly group: string;
  readonly file: string;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** The unscaled p95, and the minutes that had no sample. */
  readonly p95: number;
  readonly filledMinutes: number;
}

/** The nearest-rank `p` percentile of `xs`. */
export function nearestRank(xs: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.ceil(p * sorted.length) - 1];
}

/** Reads one CSV file into a scaled one-minute trace. */
export function readTrace(file: string, group: string): Trace {
  const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  if (!/^ts\s*,\s*value/.test(lines[0] ?? '')) throw new Error(`${file}: the first line must be the header ts,value`);
  const sums = new Map<number, { sum: number; n: number }>();
  for (const line of lines.slice(1)) {
    const [ts, value] = line.split(',');
    const v = Number(value);
    if (!Number.isFinite(v)) continue;
    const minute = Math.floor(Number(ts) / 60);
    const bucket = sums.get(minute) ?? { sum: 0, n: 0 };
    bucket.sum += v;
    bucket.n++;
    sums.set(minute, bucket);
  }
  if (!sums.size) throw new Error(`${file}: no samples`);
  const minutes = [...sums.keys()];
  const first = Math.min(...minutes);
  const count = Math.max(...minutes) - first + 1;
  const timestamps = new Float64Array(count);
  const raw = new Float64Array(count);
  let filledMinutes = 0;
  for (let i = 0; i < count; i++) {
    timestamps[i] = (first + i) * 60;
    const bucket = sums.get(first + i);
    if (bucket) raw[i] = bucket.sum / bucket.n;
    else {
      raw[i] = raw[i - 1];
      filledMinutes++;
    }
  }
  const p95 = nearestRank(raw, 0.95);
  if (!(p95 > 0)) throw new Error(`${file}: the p95 of the values must be above 0`);
  const values = raw.map((v) => (v * P95_PODS * TARGET_PER_POD) / p95);
  return { name: path.basename(file, '.csv'), group, file, timestamps, values, p95, filledMinutes };
}

/** The CSV files of a folder, by the number in their name. */
export function csvFiles(dir: string, only?: RegExp): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.csv') && (!only || only.test(f)))
    .sort((a, b) => Number(a.match(/\d+/)?.[0] ?? 0) - Number(b.match(/\d+/)?.[0] ?? 0) || a.localeCompare(b))
    .map((f) => path.join(dir, f));
}
