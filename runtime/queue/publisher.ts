/**
 * The demo publisher: batches of new events, one LPUSH per batch, either a pause between batches
 * (`intervalSeconds`) or paced at a rate (`rate`, events per second, possibly changing live).
 */
import { performance } from 'perf_hooks';
import type { RedisClient } from '../redis/connection';
import { DEFAULT_LIST_NAME, PUBLISH_DEFAULTS } from '../contract';
import { errorMessage, Logger, silentLogger } from '../log';
import { createPublisherMetrics, PublisherMetrics } from './metrics';
import { QueueFullError } from '../redis/queue-full';
import { sleep } from '../sleep';
import { createEventJson } from './event';
import { Queue } from './queue';
import type { RateSource } from './rate-file';

export interface PublishOptions {
  /** A connected client; the caller owns it. */
  readonly redis: RedisClient;
  /** @default 'events' */
  readonly list?: string;
  /** Events in all; undefined publishes until `signal` aborts. @default - forever */
  readonly count?: number;
  /** Events per LPUSH. @default 10 */
  readonly batch?: number;
  /** Pause between batches, in seconds. @default 10 */
  readonly intervalSeconds?: number;
  /**
   * Events per second, paced on absolute deadlines (see {@link publishPaced}); `intervalSeconds` is
   * then ignored. @default - none: batches spaced by `intervalSeconds`
   */
  readonly rate?: RateSource;
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
  if (options.rate) return publishPaced(queue, options.rate, options.count ?? Infinity, batch, event, log, metrics, options.signal);
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

/** Seconds a paced publisher waits after a failed LPUSH before it tries again (then it re-anchors: no burst). */
export const PACED_RETRY_MS = 1000;

/**
 * Paced publishing. Event k counted from an anchor is due at anchor + k / rate on the monotonic
 * clock, so a timer that fires late never shifts the later deadlines (no drift). Each LPUSH
 * carries `batch` events and leaves when its last event is due, so the rate is never exceeded on
 * average. The catch-up rule: a late publisher (a slow Redis, a paused process, a late timer)
 * makes up at most one batch: when a batch leaves more than one batch period (batch / rate) after
 * its deadline, the deadlines move forward by the excess, so one more batch leaves at once and the
 * rest of the debt is forgiven (events not made up). A rate change re-anchors: the next event is
 * due 1/new-rate after the last one's deadline; at rate 0 it waits for a change.
 */
async function publishPaced(
  queue: Queue,
  source: RateSource,
  count: number,
  batch: number,
  event: () => string,
  log: Logger,
  metrics: PublisherMetrics,
  signal?: AbortSignal,
): Promise<number> {
  let rate = source.current();
  let anchor = performance.now();
  let anchorEvent = 0;
  let published = 0;
  let changed = false;
  let wake: (() => void) | undefined;
  const removeListener = source.onChange(() => {
    changed = true;
    wake?.();
  });
  const due = (k: number) => anchor + ((k - anchorEvent) * 1000) / rate;
  const reanchor = (time: number) => ((anchor = time), (anchorEvent = published));
  // Resolves at `until` (ms, monotonic), at a rate change or at stop, whichever is first.
  const waitUntil = (until: number) =>
    new Promise<void>((resolve) => {
      if (changed || signal?.aborted) return resolve();
      const controller = new AbortController();
      const stop = () => controller.abort();
      signal?.addEventListener('abort', stop, { once: true });
      wake = stop;
      void sleep(until - performance.now(), controller.signal).then(() => {
        signal?.removeEventListener('abort', stop);
        wake = undefined;
        resolve();
      });
    });
  metrics.targetRate?.set(rate);
  try {
    while (published < count && !signal?.aborted) {
      if (changed) {
        changed = false;
        const next = source.current();
        const last = rate > 0 && published > 0 ? due(published - 1) : undefined;
        rate = next;
        metrics.targetRate?.set(rate);
        if (rate > 0) reanchor(last === undefined ? performance.now() : last + 1000 / rate);
      }
      if (rate === 0) {
        await waitUntil(Infinity);
        continue;
      }
      const size = Math.min(batch, count - published);
      const leaves = due(published + size - 1);
      if (leaves > performance.now()) {
        await waitUntil(leaves);
        if (changed || signal?.aborted) continue;
      }
      const events = Array.from({ length: size }, event);
      const sentAt = performance.now();
      try {
        const length = await queue.publish(events);
        published += size;
        metrics.published.inc(size);
        log.debug('published batch', { events: size, published, length });
      } catch (error) {
        if (error instanceof QueueFullError) metrics.rejected.inc(size);
        if (count !== Infinity) throw error;
        log.error('publish failed; retrying', { error: errorMessage(error), retryInSeconds: PACED_RETRY_MS / 1000 });
        await sleep(PACED_RETRY_MS, signal);
        reanchor(performance.now());
        continue;
      }
      // The catch-up rule: a debt of more than one batch period is forgiven, down to one batch.
      const late = sentAt - leaves - (batch * 1000) / rate;
      if (late > 0) anchor += late;
    }
    return published;
  } finally {
    removeListener();
  }
}
