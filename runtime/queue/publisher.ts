/** The demo publisher: batches of new events, one LPUSH per batch, a pause between batches. */
import type Redis from 'ioredis';
import { DEFAULT_LIST_NAME } from '../contract';
import { errorMessage, Logger, silentLogger } from '../log';
import { createPublisherMetrics, PublisherMetrics } from '../metrics';
import { sleep } from '../sleep';
import { createEvent } from './event';
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

export const PUBLISH_DEFAULTS = { batch: 10, intervalSeconds: 10, waitMin: 10, waitMax: 20 } as const;

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

  let published = 0;
  let remaining = options.count ?? Infinity;
  while (remaining > 0 && !options.signal?.aborted) {
    const size = Math.min(batch, remaining);
    const events = Array.from({ length: size }, () => JSON.stringify(createEvent(waitMin, waitMax)));
    try {
      const length = await queue.publish(events);
      published += size;
      remaining -= size;
      metrics.published.inc(size);
      log.info('published batch', { events: size, published, length });
    } catch (error) {
      // A publisher that runs forever outlives a Redis restart; a bounded run reports failure.
      if (!forever) throw error;
      log.error('publish failed; retrying after the interval', { error: errorMessage(error) });
      await sleep(Math.max(intervalMs, 1000), options.signal);
      continue;
    }
    if (remaining > 0) await sleep(intervalMs, options.signal);
  }
  return published;
}
