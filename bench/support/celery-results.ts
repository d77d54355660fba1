/**
 * Watching and checking the results of a Celery benchmark run. Both workers PUBLISH every result
 * on its `celery-task-meta-<id>` channel right after the SETEX (the Redis backend's protocol), so
 * one pattern subscription sees the moment the last result exists without polling Redis while the
 * workers run; the stored values are checked afterwards with MGET.
 */
import Redis from 'ioredis';
import { performance } from 'perf_hooks';
import { CeleryKeys } from '../../runtime/contract';
import { BenchmarkBroken, verify } from './report';

const META_PREFIX = CeleryKeys.taskMeta('');

export interface ResultWatch {
  /** Resolves with performance.now() at the moment the last expected result was published; throws after `timeoutMs`. */
  allPublished(timeoutMs: number): Promise<number>;
  /** Distinct expected ids published so far. */
  published(): number;
  /** Result messages received in all, repeats and strangers included. */
  messages(): number;
  /** Publications of an id already seen (a task run twice). */
  repeated(): number;
  close(): Promise<void>;
}

/** Subscribes to every result channel; resolves once the subscription is active (call it before the run starts). */
export async function watchResults(port: number, ids: readonly string[]): Promise<ResultWatch> {
  const expected = new Set(ids);
  const seen = new Set<string>();
  let messages = 0;
  let repeated = 0;
  let doneAt: number | undefined;
  let onDone: (() => void) | undefined;
  const subscriber = new Redis({ host: '127.0.0.1', port, protocol: 2, connectionName: 'bench-results', maxRetriesPerRequest: 1 });
  subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => {
    messages++;
    const id = channel.toString('latin1', META_PREFIX.length);
    if (!expected.has(id)) return;
    if (seen.has(id)) {
      repeated++;
      return;
    }
    seen.add(id);
    if (seen.size === expected.size) {
      doneAt = performance.now();
      onDone?.();
    }
  });
  await subscriber.psubscribe(CeleryKeys.taskMeta('*'));

  const allPublished = (timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      if (doneAt !== undefined) return resolve(doneAt);
      const timer = setTimeout(() => reject(new BenchmarkBroken(`only ${seen.size} of ${expected.size} results were published within ${timeoutMs / 1000} s`)), timeoutMs);
      onDone = () => {
        clearTimeout(timer);
        resolve(doneAt!);
      };
    });
  return {
    allPublished,
    published: () => seen.size,
    messages: () => messages,
    repeated: () => repeated,
    close: async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

/** What the stored results say, once each was checked to be the SUCCESS of its task. */
export interface StoredResults {
  /** Seconds between the first and the last `date_done` (the worker's own clock, microseconds for Python). */
  readonly dateDoneSpanSeconds: number;
  /** TTL of the first result when checked (Celery's result_expires). */
  readonly ttlSeconds: number;
}

/**
 * Checks every expected `celery-task-meta-<id>`: present, JSON, status SUCCESS, result null (the
 * no-op's return), task_id equal to the id. Throws {@link BenchmarkBroken} naming how many failed
 * which check: a run that lost or failed a task is not a measurement.
 */
export async function verifyResults(redis: Redis, ids: readonly string[], side: string): Promise<StoredResults> {
  const problems: Record<string, string[]> = {};
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const values = await redis.mget(chunk.map((id) => CeleryKeys.taskMeta(id)));
    for (const [j, value] of values.entries()) {
      const what = checkResult(chunk[j], value);
      if (typeof what === 'string') (problems[what] ??= []).push(chunk[j]);
      else {
        first = Math.min(first, what);
        last = Math.max(last, what);
      }
    }
  }
  const summary = Object.entries(problems).map(([what, bad]) => `${bad.length} ${what} (e.g. ${bad[0]})`);
  verify(summary.length === 0, `${side}: ${summary.join(', ')} among ${ids.length} results`);
  const ttl = await redis.ttl(CeleryKeys.taskMeta(ids[0]));
  verify(ttl > 0, `${side}: the result of ${ids[0]} has no expiry (TTL ${ttl})`);
  return { dateDoneSpanSeconds: (last - first) / 1e6, ttlSeconds: ttl };
}

/** What is wrong with one stored result, or its date_done (µs since the epoch). */
function checkResult(id: string, value: string | null): string | number {
  if (value === null) return 'missing';
  let meta: { status?: unknown; result?: unknown; task_id?: unknown; date_done?: unknown };
  try {
    meta = JSON.parse(value) as typeof meta;
  } catch {
    return 'not JSON';
  }
  if (meta.status !== 'SUCCESS') return `status ${String(meta.status)}`;
  if (meta.result !== null) return 'result not null';
  if (meta.task_id !== id) return 'wrong task_id';
  const done = typeof meta.date_done === 'string' ? parseNaiveUtc(meta.date_done) : NaN;
  return Number.isFinite(done) ? done : 'date_done unreadable';
}

/** Celery's naive UTC ISO time (`2026-01-02T03:04:05.123456`, fraction optional) in microseconds since the epoch. */
export function parseNaiveUtc(text: string): number {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:Z|\+00:00)?$/.exec(text);
  if (!match) return NaN;
  const [, y, mo, d, h, mi, s, fraction = ''] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return ms * 1000 + Number(fraction.padEnd(6, '0'));
}
