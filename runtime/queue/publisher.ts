/** The demo publisher: batches of new events, one LPUSH per batch, a pause between batches. */
import type Redis from 'ioredis';
import { DEFAULT_LIST_NAME, PUBLISH_DEFAULTS } from '../contract';
import { errorMessage, Logger, silentLogger } from '../log';
import { createPublisherMetrics, PublisherMetrics } from './metrics';
import { QueueFullError } from '../redis/queue-full';
import { sleep } from '../sleep';
import { createEventJson } from './event';
import { Queue } from './queue';

export interface PublishOptions {
  /** A connected client; the caller owns it. */
  readonly redis: Redis;
  /** @default 'events' */
  readonly list?: string;
  /** Events in all; undefined publishes until `signal` aborts. @default - forever */
  readonly count?: number;
  /** Events per LPUSH. @default 10 */
  readonly batch?: number;
  /** Pause between batches, in seconds. @default 10 */
  readonly intervalSeconds?: number;
  /** Each event's `wait` is a random integer in [waitMin, waitMax]. @default 10 */
  readonly waitMin?: number;
  /** @default 20 */
  readonly waitMax?: number;
  /** Abort to stop after the batch in hand. */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  readonly metrics?: PublisherMetrics;
}

export { PUBLISH_DEFAULTS };

/** Batches under way at once when a bounded run has no pause between batches (`--interval 0`). */
export const PIPELINE_DEPTH = 16;

/** Publishes until `count` events are out or `signal` aborts; returns how many were published. */
export async function publishEvents(options: PublishOptions): Promise<number> {
  const queue = new Queue(options.redis, options.list ?? DEFAULT_LIST_NAME);
  const batch = options.batch ?? PUBLISH_DEFAULTS.batch;
  const intervalMs = (options.intervalSeconds ?? PUBLISH_DEFAULTS.intervalSeconds) * 1000;
  const waitMin = options.waitMin ?? PUBLISH_DEFAULTS.waitMin;
  const waitMax = options.waitMax ?? PUBLISH_DEFAULTS.waitMax;
  const log = (options.log ?? silentLogger).child({ list: queue.list });
  const metrics = options.metrics ?? createPublisherMetrics();
  const forever = options.count === undefined;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`'batch' (${batch}) must be an integer of at least 1`);
  if (!(Number.isInteger(waitMin) && Number.isInteger(waitMax) && 0 <= waitMin && waitMin <= waitMax)) {
    throw new Error(`'waitMin' (${waitMin}) and 'waitMax' (${waitMax}) must be integers with 0 <= waitMin <= waitMax`);
  }

  const event = () => createEventJson(waitMin, waitMax);
  if (!forever && intervalMs === 0) return publishPipelined(queue, options.count as number, batch, event, log, metrics, options.signal);

  let published = 0;
  let remaining = options.count ?? Infinity;
  while (remaining > 0 && !options.signal?.aborted) {
    const size = Math.min(batch, remaining);
    const events = Array.from({ length: size }, event);
    try {
      const length = await queue.publish(events);
      published += size;
      remaining -= size;
      metrics.published.inc(size);
      log.info('published batch', { events: size, published, length });
    } catch (error) {
      if (error instanceof QueueFullError) metrics.rejected.inc(size);
      // A publisher that runs forever outlives a Redis restart or a full queue; a bounded run reports failure.
      if (!forever) throw error;
      log.error('publish failed; retrying after the interval', { error: errorMessage(error) });
      await sleep(Math.max(intervalMs, 1000), options.signal);
      continue;
    }
    if (remaining > 0) await sleep(intervalMs, options.signal);
  }
  return published;
}

/**
 * A bounded run without pauses: up to PIPELINE_DEPTH LPUSHes under way at once, so the run is not
 * one round trip per batch. Replies come in order, so batches are counted and logged in order;
 * the first failure ends the run (after the batches under way) and is thrown.
 */
async function publishPipelined(queue: Queue, count: number, batch: number, event: () => string, log: Logger, metrics: PublisherMetrics, signal?: AbortSignal): Promise<number> {
  const underway = new Set<Promise<void>>();
  let published = 0;
  let failure: { error: unknown } | undefined;
  for (let remaining = count; remaining > 0 && !signal?.aborted && !failure;) {
    const size = Math.min(batch, remaining);
    remaining -= size;
    const events = Array.from({ length: size }, event);
    const push: Promise<void> = queue.publish(events).then(
      (length) => {
        published += size;
        metrics.published.inc(size);
        log.info('published batch', { events: size, published, length });
      },
      (error: unknown) => {
        if (error instanceof QueueFullError) metrics.rejected.inc(size);
        failure ??= { error };
      },
    );
    underway.add(push);
    void push.finally(() => underway.delete(push));
    if (underway.size >= PIPELINE_DEPTH) await Promise.race(underway);
  }
  await Promise.all(underway);
  if (failure) throw failure.error;
  return published;
}
