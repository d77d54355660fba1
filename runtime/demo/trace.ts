/**
 * A recorded load to replay: a `ts,value` CSV (unix seconds, oldest first; the value taken as requests per
 * second), held from each row to the next and repeated from the start once past the end. Pure parsing and lookup.
 */

export interface LoadTrace {
  /** Unix seconds of the rows. */
  readonly timestamps: readonly number[];
  readonly values: readonly number[];
  /** Seconds one pass lasts: last - first plus one step (the last row's value lasts a step too). */
  readonly period: number;
  /** The value at `offset` seconds after the first row, repeating every `period`. */
  valueAt(offset: number): number;
}

/** Parses the CSV; throws naming the line of the first row that is not two finite numbers in increasing time. */
export function parseTrace(text: string, source = 'trace'): LoadTrace {
  const timestamps: number[] = [];
  const values: number[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || (index === 0 && /^[a-z_]+\s*,/i.test(trimmed))) return;
    const fields = trimmed.split(',');
    const ts = Number(fields[0]);
    const value = Number(fields[1]);
    if (fields.length !== 2 || fields[0].trim() === '' || fields[1].trim() === '' || !Number.isFinite(ts) || !Number.isFinite(value) || value < 0) {
      throw new Error(`${source} line ${index + 1}: expected "ts,value" (unix seconds, a rate of at least 0), got ${JSON.stringify(trimmed)}`);
    }
    if (timestamps.length && ts <= timestamps[timestamps.length - 1]) throw new Error(`${source} line ${index + 1}: ts ${ts} is not after the previous row's`);
    timestamps.push(ts);
    values.push(value);
  });
  if (timestamps.length === 0) throw new Error(`${source}: no rows`);
  const step = timestamps.length > 1 ? timestamps[1] - timestamps[0] : 1;
  const first = timestamps[0];
  const period = timestamps[timestamps.length - 1] - first + step;
  return {
    timestamps,
    values,
    period,
    valueAt(offset: number): number {
      const at = first + (((offset % period) + period) % period);
      // The last row at or before `at` (binary search).
      let low = 0;
      let high = timestamps.length - 1;
      while (low < high) {
        const mid = Math.ceil((low + high) / 2);
        if (timestamps[mid] <= at) low = mid;
        else high = mid - 1;
      }
      return values[low];
    },
  };
}
