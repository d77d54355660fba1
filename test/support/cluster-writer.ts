/**
 * A writer that INCRs counters through a cluster client while an operation runs (antirez's consistency-test
 * idea, reduced): the last acknowledged value of each counter, the longest gap between two acknowledged
 * writes, and, once stopped, the counters read back below their acknowledged value (lost writes).
 */
import type { Cluster } from 'ioredis';
import { performance } from 'perf_hooks';
import { sleep } from '../../runtime/sleep';

export interface WriterResult {
  readonly writes: number;
  readonly failed: number;
  readonly longestGapMs: number;
  /** Counters that read back below their last acknowledged value. */
  readonly lost: readonly string[];
}

export function startIncrWriter(client: Cluster, counters = 20, prefix = 'counter:'): { stop(): Promise<WriterResult> } {
  const acked = new Map<string, number>();
  let stopped = false;
  let failed = 0;
  let writes = 0;
  let longestGapMs = 0;
  let last = performance.now();
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const key = `${prefix}${i % counters}`;
      try {
        acked.set(key, await client.incr(key));
        writes++;
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
      } catch {
        failed++;
        // A closed client rejects at once: without a pause this loop would starve the event loop (and its own stop()).
        await sleep(10);
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      const read = await Promise.all([...acked].map(async ([k, v]) => [k, Number(await client.get(k)) < v] as const));
      return { writes, failed, longestGapMs, lost: read.filter(([, below]) => below).map(([k]) => k) };
    },
  };
}
