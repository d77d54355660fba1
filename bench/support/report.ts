/** Progress on stderr (stdout carries only the benchmark's JSON), numbers rounded for the report, percentiles. */

const started = Date.now();

/** One progress line on stderr, with the seconds since the benchmark started. */
export function progress(msg: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The q-quantile (0..1) of values sorted ascending, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no values');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A failure of the benchmark itself (not a missed goal): the run exits non-zero. */
export class BenchmarkBroken extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchmarkBroken';
  }
}

/** Throws {@link BenchmarkBroken} with `what` unless `condition` holds. */
export function verify(condition: boolean, what: string): asserts condition {
  if (!condition) throw new BenchmarkBroken(what);
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `intervalMs` until it holds; throws {@link BenchmarkBroken} with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new BenchmarkBroken(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleepMs(intervalMs);
  }
}
