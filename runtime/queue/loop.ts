/**
 * Loop mode: keeps up to `concurrency` handlers busy. Each claim call takes as many events as
 * there are free slots (one script call for the batch, two calls under way at most, never more
 * events in hand than `concurrency`); when the list runs dry the loop blocks on
 * Redis until an event arrives (or the next retry is due) instead of polling; claim errors back
 * off and never end the loop. A reaper requeues expired leases every half lease.
 */
import { setImmediate as nextTick } from 'timers/promises';
import type Redis from 'ioredis';
import { runClaimLanes } from '../claim-lanes';
import { errorMessage } from '../log';
import { intervalMs, sleep } from '../sleep';
import { redisRetryDelay } from '../redis/retry';
import { ClaimBatch, MAX_CLAIM_BATCH } from './queue';
import { Context, Worker } from './worker';

/** The longest single wait for events; also bounds how late a retry promoted by someone else is noticed. */
export const MAX_BLOCK_MS = 2000;
/** Without a blocking connection: an empty list is polled 10 ms, 20 ms, ... 250 ms apart. */
export const MIN_POLL_MS = 10;
export const MAX_POLL_MS = 250;
/** Claim calls that may be under way at once, each for up to its share of the slots (3 measured best for no-op handlers at concurrency 100). */
export const LANES = 3;

export interface LoopOptions {
  readonly concurrency: number;
  readonly signal: AbortSignal;
  /** A connection of its own for the blocking wait; without one the loop polls. */
  readonly blocking?: Redis;
}

export async function runLoop(ctx: Context, options: LoopOptions): Promise<void> {
  const loop = new Loop(ctx, options);
  await loop.run();
}

class Loop {
  private readonly worker: Worker;
  /** Claim loops waiting for a free slot. */
  private waiters: (() => void)[] = [];
  /** Slots asked for by claim calls under way. */
  private reserved = 0;
  /** The wait for events under way, shared by the lanes. */
  private eventWait?: Promise<void>;
  private reaping?: Promise<void>;
  private errors = 0;
  private pollMs = MIN_POLL_MS;

  constructor(
    private readonly ctx: Context,
    private readonly options: LoopOptions,
  ) {
    this.worker = new Worker(ctx, () => this.wake());
  }

  async run(): Promise<void> {
    const { ctx, options } = this;
    const { signal } = options;
    ctx.metrics.watch({ inFlight: () => this.worker.holding, depth: () => (ctx.queue.redis.status === 'ready' ? ctx.queue.stats() : Promise.resolve(undefined)) });
    const onAbort = () => {
      this.wake();
      // Ends a blocking wait at once.
      options.blocking?.disconnect();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    await this.reap();
    const reaper = setInterval(() => void this.reap(), intervalMs(ctx.leaseMs / 2));
    ctx.log.info('consumer started', { concurrency: options.concurrency, leaseSeconds: ctx.leaseMs / 1000 });
    let stoppedAt = Date.now();
    try {
      await runClaimLanes(LANES, options.concurrency, MAX_CLAIM_BATCH, (limit) => this.claimLoop(limit));
      stoppedAt = Date.now();
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearInterval(reaper);
      await this.reaping;
    }
    await this.worker.stop(stoppedAt + ctx.graceMs);
    ctx.log.info('consumer stopped', { ...this.worker.tally });
  }

  private async claimLoop(batchLimit: number): Promise<void> {
    const { ctx, options } = this;
    const redis = ctx.queue.redis;
    while (!options.signal.aborted) {
      const want = Math.min(options.concurrency - this.worker.busy - this.reserved, batchLimit);
      if (want <= 0) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        // Let every handler that finishes in this tick free its slot: one claim for all of them.
        await nextTick();
        continue;
      }
      if (redis.status !== 'ready') {
        // Claims queued on a broken connection would run later for nobody (leased until they expire).
        await sleep(100, options.signal);
        continue;
      }
      const since = Date.now();
      let batch: ClaimBatch;
      this.reserved += want;
      try {
        batch = await ctx.queue.claimBatch(ctx.leaseMs, want, ctx.maxDeliveries);
      } catch (error) {
        this.errors++;
        if (this.errors === 1 || this.errors % 10 === 0) ctx.log.error('claim failed; retrying', { error: errorMessage(error), failures: this.errors });
        await sleep(redisRetryDelay(this.errors), options.signal);
        continue;
      } finally {
        this.reserved -= want;
      }
      if (this.errors > 0) ctx.log.info('claiming works again', { failures: this.errors });
      this.errors = 0;
      if (batch.deadLettered > 0) {
        ctx.metrics.deadLettered.inc({ reason: 'max-deliveries' }, batch.deadLettered);
        ctx.log.warn('events dead-lettered: delivered too often without an outcome', { events: batch.deadLettered, reason: 'max-deliveries', dead: ctx.queue.keys.dead });
      }
      for (const claim of batch.claims) void this.worker.start(claim, since);
      if (batch.claims.length === want) {
        this.pollMs = MIN_POLL_MS;
      } else if (!options.signal.aborted) {
        await this.waitForEvents(batch.nextDueAt === undefined ? MAX_BLOCK_MS : batch.nextDueAt - batch.redisTime);
      }
    }
  }

  /** The list was drained: wait until an event arrives, the next retry is due, or the loop stops. One wait for all lanes. */
  private waitForEvents(untilDueMs: number): Promise<void> {
    this.eventWait ??= this.blockOrPoll(Math.max(0, Math.min(untilDueMs, MAX_BLOCK_MS))).finally(() => (this.eventWait = undefined));
    return this.eventWait;
  }

  private async blockOrPoll(timeoutMs: number): Promise<void> {
    const { ctx, options } = this;
    if (timeoutMs === 0) return;
    if (!options.blocking) {
      await sleep(Math.min(this.pollMs, timeoutMs), options.signal);
      this.pollMs = Math.min(this.pollMs * 2, MAX_POLL_MS);
      return;
    }
    try {
      await ctx.queue.waitForEvents(options.blocking, timeoutMs);
    } catch (error) {
      if (options.signal.aborted) return;
      ctx.log.debug('waiting for events failed', { error: errorMessage(error) });
      await sleep(redisRetryDelay(++this.errors), options.signal);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Requeues expired leases and promotes due retries; never throws (the next run tries again). */
  private reap(): Promise<void> {
    this.reaping ??= reapQueue(this.ctx).finally(() => (this.reaping = undefined));
    return this.reaping;
  }
}

/** One reaper pass over the queue; logs and counts what it did, never throws. */
export async function reapQueue(ctx: Context): Promise<void> {
  if (ctx.queue.redis.status !== 'ready') return;
  try {
    const requeued = await ctx.queue.reap();
    if (requeued > 0) {
      ctx.metrics.redelivered.inc(requeued);
      ctx.log.warn('requeued events whose lease ran out', { requeued });
    }
    const promoted = await ctx.queue.promoteDue();
    if (promoted > 0) ctx.log.info('moved due retries to the list', { promoted });
  } catch (error) {
    ctx.log.error('reap failed', { error: errorMessage(error) });
  }
}
