/**
 * The queue-state exporter's gauges: per list, the depth by state and the age of the ready event
 * consumed next, read from Redis at each scrape. It runs without any consumer, so a query over it
 * can scale a fleet up from zero and an "oldest event too old" alert can fire when none runs.
 */
import type { RedisClient } from '../redis/connection';
import { Gauge, Registry } from 'prom-client';
import { MetricLabels, Metrics, QUEUE_STATES } from '../contract';
import { errorMessage, Logger } from '../log';
import { Queue } from './queue';

export interface QueueExporterOptions {
  /** The client, once connected (before, every scrape serves up 0). */
  readonly redis: () => RedisClient | undefined;
  readonly lists: readonly string[];
  readonly registry: Registry;
  /** A scrape that has not read every list by then reports the exporter down. */
  readonly scrapeTimeoutMs: number;
  readonly log: Logger;
  /** ms since the epoch (the publisher's `enqueuedAt` clock). @default Date.now */
  readonly now?: () => number;
}

export interface QueueExporter {
  /** Whether the last scrape read every list (undefined before the first). */
  lastScrapeOk(): boolean | undefined;
}

/** The age in seconds of `raw`, an event whose `enqueuedAt` is ms since the epoch; undefined without one. */
export function eventAge(raw: Buffer, now: number): number | undefined {
  let enqueuedAt: unknown;
  try {
    enqueuedAt = (JSON.parse(raw.toString('utf8')) as { enqueuedAt?: unknown } | null)?.enqueuedAt;
  } catch {
    return undefined;
  }
  return typeof enqueuedAt === 'number' && Number.isFinite(enqueuedAt) ? Math.max(0, now - enqueuedAt) / 1000 : undefined;
}

/**
 * Registers the gauges. One /metrics request reads each list once (one MULTI per list, in parallel)
 * and every gauge serves from that read. An event without `enqueuedAt` (a bare `{"wait": n}`, a
 * malformed one) is aged from when this exporter first saw it at the head, so a stuck head still
 * ages. When Redis is away or slower than the timeout, `up` is 0 and the depth and age series are
 * dropped rather than left stale.
 */
export function createQueueExporter(options: QueueExporterOptions): QueueExporter {
  const { registry, log } = options;
  const now = options.now ?? Date.now;
  let queues: Queue[] | undefined;
  const firstSeen = new Map<string, { raw: Buffer; at: number }>();
  let scrape: Promise<void> | undefined;
  let ok: boolean | undefined;
  let problem: string | undefined;

  const depth = new Gauge({
    name: Metrics.QUEUE_DEPTH,
    help: 'Events in each part of the queue, by list and state (one MULTI per list per scrape).',
    labelNames: [MetricLabels.LIST, MetricLabels.STATE],
    registers: [registry],
    collect: () => once(),
  });
  const oldest = new Gauge({
    name: Metrics.QUEUE_OLDEST_READY_AGE,
    help: 'Seconds since the enqueuedAt of the ready event consumed next; 0 for an empty list.',
    labelNames: [MetricLabels.LIST],
    registers: [registry],
    collect: () => once(),
  });
  const up = new Gauge({
    name: Metrics.QUEUE_EXPORTER_UP,
    help: 'Whether the last scrape read every list from Redis (1) or not (0).',
    registers: [registry],
    collect: () => once(),
  });

  // The three collects of one request share one read.
  const once = () => (scrape ??= read().finally(() => (scrape = undefined)));

  async function read(): Promise<void> {
    try {
      const redis = options.redis();
      if (redis?.status !== 'ready') throw new Error(`Redis connection is ${redis?.status ?? 'not made yet'}`);
      const readers = (queues ??= options.lists.map((list) => new Queue(redis, list)));
      const states = await withTimeout(Promise.all(readers.map((queue) => queue.state())), options.scrapeTimeoutMs);
      const at = now();
      depth.reset();
      oldest.reset();
      states.forEach(({ stats, next }, i) => {
        const list = options.lists[i];
        for (const state of QUEUE_STATES) depth.set({ list, state }, stats[state]);
        oldest.set({ list }, next ? headAge(list, next, at) : (firstSeen.delete(list), 0));
      });
      up.set(1);
      if (ok === false) log.info('queue exporter reads Redis again', { lists: options.lists });
      ok = true;
      problem = undefined;
    } catch (error) {
      depth.reset();
      oldest.reset();
      up.set(0);
      const message = errorMessage(error);
      // Once per problem, not once per scrape.
      if (message !== problem) log.warn('queue exporter cannot read Redis; up is 0', { error: message, lists: options.lists });
      ok = false;
      problem = message;
    }
  }

  function headAge(list: string, raw: Buffer, at: number): number {
    const age = eventAge(raw, at);
    if (age !== undefined) {
      firstSeen.delete(list);
      return age;
    }
    const seen = firstSeen.get(list);
    if (seen && seen.raw.equals(raw)) return (at - seen.at) / 1000;
    firstSeen.set(list, { raw, at });
    return 0;
  }

  return { lastScrapeOk: () => ok };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
