/**
 * Consumers: take events under a lease, run the handler while the lease is renewed, then ack,
 * retry with backoff, or dead-letter. `consumeOnce` is Job mode (one event, then return);
 * `runConsumer` is loop mode (up to `concurrency` events at a time until the signal aborts).
 * Both give in-flight handlers the grace period on stop and hand back what did not finish.
 */
import { constants } from 'fs';
import { access, rename, rm, writeFile } from 'fs/promises';
import { dirname } from 'path';
import type { RedisClient } from '../redis/connection';
import {
  DEFAULT_BACKOFF_MAX_SECONDS,
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_GRACE_SECONDS,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_LIST_NAME,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_DELIVERIES,
} from '../contract';
import { errorMessage, Logger, silentLogger } from '../log';
import { ConsumerMetrics, createConsumerMetrics } from './metrics';
import { demoHandler, EventHandler } from './handler';
import { ClaimEngine } from '../claim/engine';
import { QUEUE_CLAIMING } from '../claim/tuning';
import { ConsumerContext, Deliveries, Outcome } from './deliveries';
import { Claim, Queue } from './queue';
import { Reaper, reapQueue } from './reaper';
import { disconnectRedis, duplicateClient } from '../redis/connection';

export type { Outcome } from './deliveries';

export interface ConsumerOptions {
  /** A connected client; the caller owns it (closes it). */
  readonly redis: RedisClient;
  /** @default 'events' */
  readonly list?: string;
  /** Lease length; renewed every third of it while the handler runs. @default 60 */
  readonly leaseSeconds?: number;
  /** @default - the demo handler: sleeps `wait` seconds */
  readonly handler?: EventHandler;
  /** Handler failures after which an event is dead-lettered (reason handler-failed). @default 5 */
  readonly maxAttempts?: number;
  /** Deliveries whose consumer died after which an event is dead-lettered (reason max-deliveries). @default 10 */
  readonly maxDeliveries?: number;
  /** First retry delay after a handler failure; doubles per failure. @default 1 */
  readonly backoffSeconds?: number;
  /** The longest retry delay. @default 300 */
  readonly backoffMaxSeconds?: number;
  /** After `signal` aborts: how long handlers in hand may still run before their events are handed back. @default 30 */
  readonly graceSeconds?: number;
  /** Abort to stop: nothing new is claimed; events in hand get the grace period. @default - never stops */
  readonly signal?: AbortSignal;
  /** @default - no logs */
  readonly log?: Logger;
  /** @default - counted in a registry nobody reads */
  readonly metrics?: ConsumerMetrics;
}

export interface ConsumeOnceOptions extends ConsumerOptions {
  /**
   * Marker file written once the event is held and removed when done (an exec readiness probe
   * checks it). Its directory must exist: checked before anything is claimed.
   * @default - no marker
   */
  readonly readyFile?: string;
}

export interface RunConsumerOptions extends ConsumerOptions {
  /** Events handled at the same time; each claim call takes as many as there are free slots. @default 1 */
  readonly concurrency?: number;
  /**
   * Wait for new events with a blocking command on a second connection (made with
   * `redis.duplicate()`), so an idle consumer wakes within a round trip of a publish; false polls
   * the list 10 ms to 250 ms apart instead.
   * @default true
   */
  readonly blockingWait?: boolean;
}

export interface ConsumeOnceResult {
  readonly outcome: Outcome | 'empty';
  readonly token?: string;
}

function contextOf(options: ConsumerOptions, claimLogLevel: ConsumerContext['claimLogLevel']): ConsumerContext {
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  const backoffSeconds = options.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  const backoffMaxSeconds = options.backoffMaxSeconds ?? DEFAULT_BACKOFF_MAX_SECONDS;
  const graceSeconds = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  if (!(leaseSeconds > 0)) throw new Error(`'leaseSeconds' (${leaseSeconds}) must be greater than 0`);
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new Error(`'maxAttempts' (${maxAttempts}) must be an integer of at least 1`);
  if (!(Number.isInteger(maxDeliveries) && maxDeliveries >= 1)) throw new Error(`'maxDeliveries' (${maxDeliveries}) must be an integer of at least 1`);
  if (!(backoffSeconds >= 0)) throw new Error(`'backoffSeconds' (${backoffSeconds}) must be at least 0`);
  if (!(backoffMaxSeconds >= backoffSeconds)) throw new Error(`'backoffMaxSeconds' (${backoffMaxSeconds}) must be at least 'backoffSeconds' (${backoffSeconds})`);
  if (!(graceSeconds >= 0)) throw new Error(`'graceSeconds' (${graceSeconds}) must be at least 0`);
  const list = options.list ?? DEFAULT_LIST_NAME;
  return {
    queue: new Queue(options.redis, list),
    leaseMs: leaseSeconds * 1000,
    handler: options.handler ?? demoHandler(),
    log: (options.log ?? silentLogger).child({ list }),
    metrics: options.metrics ?? createConsumerMetrics(),
    retry: { maxAttempts, backoffSeconds, backoffMaxSeconds },
    maxDeliveries,
    graceMs: graceSeconds * 1000,
    claimLogLevel,
  };
}

/**
 * Job mode: reaps expired leases and due retries, takes one event and handles it. Empty list:
 * returns `empty`. When `signal` aborts mid-event, the handler gets the grace period; if it does
 * not finish, the event is handed back (`handed-back`).
 */
export async function consumeOnce(options: ConsumeOnceOptions): Promise<ConsumeOnceResult> {
  const ctx = contextOf(options, 'info');
  const { readyFile, signal } = options;
  if (readyFile) {
    // Fail before claiming: an event taken by a pod that never turns ready helps nobody.
    await access(dirname(readyFile), constants.W_OK).catch((error: Error) => {
      throw new Error(`ready file directory '${dirname(readyFile)}' is not writable: ${error.message}`);
    });
  }
  await reapQueue(ctx);
  if (signal?.aborted) return { outcome: 'empty' };
  const since = Date.now();
  const batch = await ctx.queue.claimBatch(ctx.leaseMs, 1, ctx.maxDeliveries);
  countDeadLettered(ctx, batch.deadLettered);
  const [claim] = batch.claims;
  if (!claim) {
    ctx.log.info('list is empty, nothing to do');
    return { outcome: 'empty' };
  }
  try {
    if (readyFile) await writeReadyFile(readyFile, claim, ctx.log);
    return { outcome: await handleOne(ctx, claim, since, signal), token: claim.token };
  } finally {
    if (readyFile) await rm(readyFile, { force: true }).catch((error: Error) => ctx.log.warn('could not remove ready file', { readyFile, error: error.message }));
  }
}

async function handleOne(ctx: ConsumerContext, claim: Claim, since: number, signal?: AbortSignal): Promise<Outcome> {
  const deliveries = new Deliveries(ctx);
  const delivery = deliveries.start(claim, since);
  const stopped = new Promise<'stop'>((resolve) => {
    if (signal?.aborted) resolve('stop');
    signal?.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  const first = await Promise.race([delivery, stopped]);
  if (first !== 'stop') {
    await deliveries.stop(Date.now());
    return first;
  }
  const handedBack = await deliveries.stop(Date.now() + ctx.graceMs);
  return handedBack > 0 ? 'handed-back' : delivery;
}

/** Loop mode: up to `concurrency` events at a time until `signal` aborts; reaps every lease/2. */
export async function runConsumer(options: RunConsumerOptions): Promise<void> {
  const ctx = contextOf(options, 'debug');
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error(`'concurrency' (${concurrency}) must be an integer of at least 1`);
  const signal = options.signal ?? new AbortController().signal;
  const blocking = options.blockingWait === false ? undefined : duplicateClient(options.redis, 'redis-keda-wait');
  // A blocking connection's errors surface in the wait; without a listener ioredis would print them.
  blocking?.on('error', (error: Error) => ctx.log.debug('blocking connection error', { error: errorMessage(error) }));
  try {
    await runLoop(ctx, concurrency, signal, blocking);
  } finally {
    if (blocking) await disconnectRedis(blocking);
  }
}

/**
 * Keeps up to `concurrency` handlers busy: each claim takes as many events as there are free
 * slots (never more in hand than `concurrency`); a drained list is waited on until an event
 * arrives or the next retry is due; the reaper runs every half lease.
 */
async function runLoop(ctx: ConsumerContext, concurrency: number, signal: AbortSignal, blocking?: RedisClient): Promise<void> {
  const { queue } = ctx;
  // Assigned once, below: the deliveries' wake-up callback needs the engine that needs the deliveries.
  // eslint-disable-next-line prefer-const
  let engine: ClaimEngine | undefined;
  const deliveries = new Deliveries(ctx, () => engine?.wake());
  engine = new ClaimEngine(
    { concurrency, signal, redis: queue.redis, blocking, log: ctx.log, tuning: QUEUE_CLAIMING },
    {
      busy: () => deliveries.busy,
      claim: async (want) => {
        const since = Date.now();
        const batch = await queue.claimBatch(ctx.leaseMs, want, ctx.maxDeliveries);
        countDeadLettered(ctx, batch.deadLettered);
        for (const claim of batch.claims) void deliveries.start(claim, since);
        return { drained: batch.claims.length < want, untilDueMs: batch.nextDueAt === undefined ? undefined : batch.nextDueAt - batch.redisTime };
      },
      waitForWork: (connection, timeoutMs) => queue.waitForEvents(connection, timeoutMs),
    },
  );
  ctx.metrics.watch({ inFlight: () => deliveries.holding, depth: () => (queue.redis.status === 'ready' ? queue.stats() : Promise.resolve(undefined)) });
  const reaper = new Reaper(ctx);
  await reaper.start();
  ctx.log.info('consumer started', { concurrency, leaseSeconds: ctx.leaseMs / 1000 });
  let stoppedAt = Date.now();
  try {
    stoppedAt = await engine.run();
  } finally {
    await reaper.stop();
  }
  await deliveries.stop(stoppedAt + ctx.graceMs);
  ctx.log.info('consumer stopped', { ...deliveries.tally });
}

function countDeadLettered(ctx: ConsumerContext, events: number): void {
  if (events === 0) return;
  ctx.metrics.deadLettered.inc({ reason: 'max-deliveries' }, events);
  ctx.log.warn('events dead-lettered: delivered too often without an outcome', { events, reason: 'max-deliveries', dead: ctx.queue.keys.dead });
}

async function writeReadyFile(path: string, claim: Claim, log: Logger): Promise<void> {
  try {
    // Write then rename, so whoever sees the file sees all of it.
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ token: claim.token, claimedAt: new Date().toISOString() }) + '\n');
    await rename(tmp, path);
    log.debug('ready file written', { readyFile: path });
  } catch (error) {
    // The readiness signal is worth less than the event: carry on without it.
    log.error('could not write ready file', { readyFile: path, error: errorMessage(error) });
  }
}
