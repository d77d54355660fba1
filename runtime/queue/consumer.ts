/**
 * Consumers: take an event under a lease, run the handler while renewing the lease, then ack or
 * dead-letter it. `consumeOnce` is Job mode (one event, then return); `runConsumer` is loop mode
 * (workers until the signal aborts).
 */
import { constants } from 'fs';
import { access, rename, rm, writeFile } from 'fs/promises';
import { dirname } from 'path';
import type Redis from 'ioredis';
import { DEFAULT_LEASE_SECONDS, DEFAULT_LIST_NAME, QueueEvent } from '../contract';
import { errorMessage, Logger, silentLogger } from '../log';
import { ConsumerMetrics, createConsumerMetrics } from '../metrics';
import { sleep } from '../sleep';
import { parseEvent } from './event';
import { demoHandler, EventHandler } from './handler';
import { Claim, DeadLetterOptions, Queue } from './queue';

export interface ConsumerOptions {
  /** A connected client; the caller owns it (closes it). */
  readonly redis: Redis;
  /** @default 'events' */
  readonly list?: string;
  /** Lease length; renewed every third of it while the handler runs. @default 60 */
  readonly leaseSeconds?: number;
  /** @default - the demo handler: sleeps `wait` seconds */
  readonly handler?: EventHandler;
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
  /** Events handled at the same time. @default 1 */
  readonly concurrency?: number;
  /** Abort to stop: no new claims; events in hand are finished, then `runConsumer` resolves. */
  readonly signal?: AbortSignal;
}

/**
 * How a delivery ended. `lost`: the lease ran out and a reaper requeued the event before this
 * consumer could finish it, so it will be delivered again.
 */
export type Outcome = 'processed' | 'dead-lettered' | 'lost';

export interface ConsumeOnceResult {
  readonly outcome: Outcome | 'empty';
  readonly token?: string;
}

/** Idle polling backoff: RPOP does not block, so an empty list is polled 50 ms, 100 ms, ... 1 s apart. */
export const MIN_IDLE_MS = 50;
export const MAX_IDLE_MS = 1000;

interface Context {
  readonly queue: Queue;
  readonly leaseMs: number;
  readonly handler: EventHandler;
  readonly log: Logger;
  readonly metrics: ConsumerMetrics;
  /** The reap under way, if any: the next timer tick skips, a stop waits for it. */
  reaping?: Promise<void>;
}

function contextOf(options: ConsumerOptions): Context {
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!(leaseSeconds > 0)) throw new Error(`'leaseSeconds' (${leaseSeconds}) must be greater than 0`);
  const list = options.list ?? DEFAULT_LIST_NAME;
  return {
    queue: new Queue(options.redis, list),
    leaseMs: leaseSeconds * 1000,
    handler: options.handler ?? demoHandler(),
    log: (options.log ?? silentLogger).child({ list }),
    metrics: options.metrics ?? createConsumerMetrics(),
  };
}

/** Job mode: reaps expired leases, takes one event and handles it. Empty list: returns `empty`. */
export async function consumeOnce(options: ConsumeOnceOptions): Promise<ConsumeOnceResult> {
  const ctx = contextOf(options);
  const readyFile = options.readyFile;
  if (readyFile) {
    // Fail before claiming: an event taken by a pod that never turns ready helps nobody.
    await access(dirname(readyFile), constants.W_OK).catch((error: Error) => {
      throw new Error(`ready file directory '${dirname(readyFile)}' is not writable: ${error.message}`);
    });
  }
  await reapExpired(ctx);
  const [claim] = await ctx.queue.claim(ctx.leaseMs, 1);
  if (!claim) {
    ctx.log.info('list is empty, nothing to do');
    return { outcome: 'empty' };
  }
  try {
    if (readyFile) await writeReadyFile(readyFile, claim, ctx.log);
    return { outcome: await handleClaim(ctx, claim), token: claim.token };
  } finally {
    if (readyFile) await rm(readyFile, { force: true }).catch((error: Error) => ctx.log.warn('could not remove ready file', { readyFile, error: error.message }));
  }
}

/** Loop mode: `concurrency` workers claim and handle events until `signal` aborts; reaps every lease/2. */
export async function runConsumer(options: RunConsumerOptions): Promise<void> {
  const ctx = contextOf(options);
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error(`'concurrency' (${concurrency}) must be an integer of at least 1`);
  const signal = options.signal ?? new AbortController().signal;

  await reapExpired(ctx);
  const reaper = setInterval(() => void reapExpired(ctx), ctx.leaseMs / 2);
  ctx.log.info('consumer started', { concurrency, leaseSeconds: ctx.leaseMs / 1000 });
  try {
    await Promise.all(Array.from({ length: concurrency }, () => work(ctx, signal)));
  } finally {
    clearInterval(reaper);
    await ctx.reaping;
  }
  ctx.log.info('consumer stopped');
}

async function work(ctx: Context, signal: AbortSignal): Promise<void> {
  let idleMs = MIN_IDLE_MS;
  while (!signal.aborted) {
    let claims: Claim[];
    try {
      claims = await ctx.queue.claim(ctx.leaseMs, 1);
    } catch (error) {
      ctx.log.error('claim failed; retrying', { error: errorMessage(error) });
      await sleep(MAX_IDLE_MS, signal);
      continue;
    }
    if (claims.length === 0) {
      await sleep(idleMs, signal);
      idleMs = Math.min(idleMs * 2, MAX_IDLE_MS);
      continue;
    }
    idleMs = MIN_IDLE_MS;
    for (const claim of claims) {
      try {
        await handleClaim(ctx, claim);
      } catch (error) {
        // Handled or not, the claim stays in flight; its lease runs out and a reaper requeues it.
        ctx.log.error('could not finish event; it will be redelivered after its lease', { token: claim.token, error: errorMessage(error) });
      }
    }
  }
}

/** Requeues expired leases of the queue; never throws (a failed reap is retried by the next one). */
function reapExpired(ctx: Context): Promise<void> {
  ctx.reaping ??= (async () => {
    try {
      const requeued = await ctx.queue.reap();
      if (requeued > 0) {
        ctx.metrics.redelivered.inc(requeued);
        ctx.log.warn('requeued events whose lease ran out', { requeued });
      }
    } catch (error) {
      ctx.log.error('reap failed', { error: errorMessage(error) });
    } finally {
      ctx.reaping = undefined;
    }
  })();
  return ctx.reaping;
}

/** Runs one claimed event to its end. Throws only when Redis fails while finishing it. */
async function handleClaim(ctx: Context, claim: Claim): Promise<Outcome> {
  const parsed = parseEvent(claim.raw, claim.token);
  if (!parsed.ok) {
    ctx.log.warn('malformed event', { token: claim.token, error: parsed.error });
    return deadLetter(ctx, claim, ctx.log.child({ token: claim.token }), { reason: 'malformed', error: parsed.error });
  }
  const event = parsed.event;
  const log = ctx.log.child({ eventId: event.id, token: claim.token });
  log.info('event claimed', { wait: event.wait });

  const lease = keepLease(ctx, claim, log);
  const started = performance.now();
  let failure: { error: unknown } | undefined;
  try {
    await ctx.handler(event, { raw: claim.raw, token: claim.token, log });
  } catch (error) {
    failure = { error };
  } finally {
    await lease.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  ctx.metrics.processingSeconds.observe(seconds);

  if (failure) {
    ctx.metrics.failed.inc();
    return onHandlerFailure(ctx, claim, event, failure.error, log);
  }
  if (!(await ctx.queue.ack(claim.token))) {
    log.warn('event handled, but its lease had run out and it was requeued: it will run again', { seconds });
    return 'lost';
  }
  ctx.metrics.processed.inc();
  log.info('event processed', { seconds: round(seconds) });
  return 'processed';
}

/**
 * What a failed delivery becomes. For now every failure is final; retries with backoff (the
 * `delayed` zset) and a delivery limit change this function only.
 */
async function onHandlerFailure(ctx: Context, claim: Claim, _event: QueueEvent, error: unknown, log: Logger): Promise<Outcome> {
  const message = errorMessage(error);
  log.error('handler failed', { error: message });
  return deadLetter(ctx, claim, log, { reason: 'handler-failed', error: message, attempts: 1 });
}

async function deadLetter(ctx: Context, claim: Claim, log: Logger, options: DeadLetterOptions): Promise<Outcome> {
  if (!(await ctx.queue.deadLetter(claim, options))) {
    log.warn('could not dead-letter: the lease had run out and the event was requeued', { reason: options.reason });
    return 'lost';
  }
  ctx.metrics.deadLettered.inc({ reason: options.reason });
  log.warn('event dead-lettered', { reason: options.reason, dead: ctx.queue.keys.dead });
  return 'dead-lettered';
}

/** Renews the lease every third of it until stopped; `stop` waits for a renewal under way. */
function keepLease(ctx: Context, claim: Claim, log: Logger): { stop(): Promise<void> } {
  let renewal: Promise<void> = Promise.resolve();
  let held = true;
  const timer = setInterval(() => {
    renewal = renewal.then(async () => {
      if (!held) return;
      try {
        if ((await ctx.queue.extendLease(claim.token, ctx.leaseMs)) === undefined) {
          held = false;
          clearInterval(timer);
          log.warn('lease lost: the event was requeued while its handler still runs');
        }
      } catch (error) {
        // Keep trying: the lease is still valid until its deadline.
        log.warn('lease renewal failed', { error: errorMessage(error) });
      }
    });
  }, ctx.leaseMs / 3);
  return {
    stop: async () => {
      clearInterval(timer);
      held = false;
      await renewal;
    },
  };
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

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
