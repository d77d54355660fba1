/**
 * A Redis list used as a reliable queue: events are leased rather than popped, so a consumer
 * that dies mid-event loses nothing — its lease runs out and a reaper puts the event back.
 * Failed handlers are retried later through the `delayed` zset; what cannot succeed ends in
 * `<list>:dead`. Delivery is at least once: a handler that outlives a lost lease may see its
 * event run again.
 */
import { randomBytes } from 'crypto';
import type { RedisClient } from '../redis/connection';
import { DeadLetterReason, DEFAULT_BACKOFF_MAX_SECONDS, DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELIVERIES, queueKeys } from '../contract';
import { ACK, CLAIM_EVENTS, DEAD_LETTER_EVENT, EXTEND_LEASES, HAND_BACK, PROMOTE, PROMOTE_BATCH, REAP, REDRIVE, RETRY } from './scripts';
import { QUEUE_CLAIMING } from '../claim/tuning';
import { pushOrQueueFull } from '../redis/queue-full';

/** An event this consumer holds until it acks, retries, dead-letters, hands back or loses the lease. */
export interface Claim {
  /** Unique per delivery; the in-flight key of the event. */
  readonly token: string;
  /** The event exactly as published. */
  readonly raw: string;
  /** Lease deadline at claim time, ms since the epoch by the Redis clock. */
  readonly deadline: number;
  /** 1 for the first delivery; more when earlier consumers of this event died holding it. */
  readonly delivery: number;
}

/** What one claim call did. */
export interface ClaimBatch {
  readonly claims: Claim[];
  /** Events dead-lettered with reason max-deliveries instead of being handed out. */
  readonly deadLettered: number;
  /** When the next retry is due (ms, Redis clock), if fewer events than asked were taken and one waits. */
  readonly nextDueAt?: number;
  /** Redis' clock at the claim (ms): compare nextDueAt with this, not with the local clock. */
  readonly redisTime: number;
}

export interface QueueStats {
  readonly list: string;
  readonly ready: number;
  readonly inflight: number;
  readonly delayed: number;
  readonly dead: number;
}

export interface DeadLetterOptions {
  readonly reason: 'malformed';
  readonly error: string;
}

/** How handler failures are retried. */
export interface RetryPolicy {
  /** Failures after which the event is dead-lettered. @default 5 */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per failure. @default 1 */
  readonly backoffSeconds?: number;
  /** The longest retry delay. @default 300 */
  readonly backoffMaxSeconds?: number;
}

export type RetryResult =
  | { readonly outcome: 'retried'; readonly attempts: number; /** ms since the epoch, Redis clock. */ readonly dueAt: number }
  | { readonly outcome: 'dead-lettered'; readonly attempts: number }
  | { readonly outcome: 'lost' };

/** What `purge` deletes: the dead-letter list, or every key of the queue. */
export type PurgeScope = 'dead' | 'all';

/** Tokens per hand-back call. */
export const HAND_BACK_BATCH = 500;
/** Expired claims (and due retries) moved per script call; small enough not to block Redis noticeably. */
export const REAP_BATCH = 100;
/** Dead-letter entries redriven per script call (each call is atomic). */
export const REDRIVE_BATCH = 100;

export class Queue {
  readonly keys: ReturnType<typeof queueKeys>;

  constructor(
    readonly redis: RedisClient,
    readonly list: string,
  ) {
    this.keys = queueKeys(list);
  }

  /**
   * LPUSHes raw events in one command, in order (the first given is taken first). Returns the new
   * ready length. Throws {@link QueueFullError} when Redis is at `maxmemory` (none was stored).
   */
  async publish(events: readonly string[]): Promise<number> {
    if (events.length === 0) return this.redis.llen(this.keys.ready);
    return pushOrQueueFull(this.keys.ready, events.length, () => this.redis.lpush(this.keys.ready, ...events));
  }

  /** Takes up to `count` events (fewer if the list runs short, none if it is empty) in one atomic step. */
  async claim(leaseMs: number, count = 1, maxDeliveries = DEFAULT_MAX_DELIVERIES): Promise<Claim[]> {
    return (await this.claimBatch(leaseMs, count, maxDeliveries)).claims;
  }

  /**
   * Promotes due retries, then takes up to `count` events in one atomic step. Events whose
   * delivery number would pass `maxDeliveries` are dead-lettered instead (reason max-deliveries).
   */
  async claimBatch(leaseMs: number, count: number, maxDeliveries = DEFAULT_MAX_DELIVERIES): Promise<ClaimBatch> {
    if (!(Number.isInteger(count) && count >= 1 && count <= QUEUE_CLAIMING.maxBatch))
      throw new Error(`claim count (${count}) must be an integer from 1 to ${QUEUE_CLAIMING.maxBatch}`);
    const keys = [
      this.keys.ready,
      this.keys.inflight,
      this.keys.inflightEvents,
      this.keys.delayed,
      this.keys.delayedEvents,
      this.keys.deliveries,
      this.keys.failures,
      this.keys.dead,
    ];
    // Tokens are <72 random bits>.<n>: unique across consumers, short on the wire.
    const reply = (await CLAIM_EVENTS.run(this.redis, keys, [Math.round(leaseMs), count, maxDeliveries, `${randomBytes(9).toString('base64url')}.`])) as (number | string)[];
    const deadline = Number(reply[0]);
    const claims: Claim[] = [];
    for (let i = 3; i + 2 < reply.length; i += 3) {
      claims.push({ token: reply[i] as string, raw: reply[i + 1] as string, deadline, delivery: Number(reply[i + 2]) });
    }
    const nextDue = Number(reply[2]);
    return { claims, deadLettered: Number(reply[1]), nextDueAt: nextDue >= 0 ? nextDue : undefined, redisTime: deadline - Math.round(leaseMs) };
  }

  /** Finishes a claim. False if it was no longer held (reaped and requeued: it may run again). */
  async ack(token: string): Promise<boolean> {
    return (await this.ackMany([token]))[0];
  }

  /** Finishes many claims in one atomic call; per token, whether it was still held. */
  async ackMany(tokens: readonly string[]): Promise<boolean[]> {
    if (tokens.length === 0) return [];
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.deliveries, this.keys.failures];
    return ((await ACK.run(this.redis, keys, tokens)) as number[]).map((held) => held === 1);
  }

  /** Renews a held lease to now + leaseMs. Returns the new deadline, or undefined if the claim was lost. */
  async extendLease(token: string, leaseMs: number): Promise<number | undefined> {
    const { deadline, lost } = await this.extendLeases([token], leaseMs);
    return lost.length === 0 ? deadline : undefined;
  }

  /** Renews many held leases in one call. Returns the new deadline and the tokens no longer held. */
  async extendLeases(tokens: readonly string[], leaseMs: number): Promise<{ deadline: number; lost: string[] }> {
    const [deadline, ...lost] = (await EXTEND_LEASES.run(this.redis, [this.keys.inflight], [Math.round(leaseMs), ...tokens])) as [number, ...string[]];
    return { deadline: Number(deadline), lost };
  }

  /** Moves a held event to `<list>:dead` with why it failed. False if the claim was lost (nothing written). */
  async deadLetter(claim: Pick<Claim, 'token'>, options: DeadLetterOptions): Promise<boolean> {
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.deliveries, this.keys.failures, this.keys.dead];
    return (await DEAD_LETTER_EVENT.run(this.redis, keys, [claim.token, options.reason, options.error])) === 1;
  }

  /**
   * Records a handler failure of a held event: schedules a retry with exponential backoff, or
   * dead-letters it (reason handler-failed) once its failures reach `maxAttempts`.
   */
  async retry(claim: Pick<Claim, 'token'>, error: string, policy: RetryPolicy = {}): Promise<RetryResult> {
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.delayed, this.keys.delayedEvents, this.keys.deliveries, this.keys.failures, this.keys.dead];
    const args = [
      claim.token,
      error,
      policy.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      Math.round((policy.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS) * 1000),
      Math.round((policy.backoffMaxSeconds ?? DEFAULT_BACKOFF_MAX_SECONDS) * 1000),
      Math.random(),
    ];
    const [status, attempts, due] = ((await RETRY.run(this.redis, keys, args)) as number[]).map(Number);
    if (status === 1) return { outcome: 'retried', attempts, dueAt: due };
    if (status === 2) return { outcome: 'dead-lettered', attempts };
    return { outcome: 'lost' };
  }

  /**
   * Gives held events back (a stopping consumer), at the consuming end of the list in the order
   * given (the first is taken first), without counting the delivery. Returns how many went back.
   */
  async handBack(tokens: readonly string[], batch = HAND_BACK_BATCH): Promise<number> {
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.ready, this.keys.deliveries];
    let handedBack = 0;
    // The script pushes in the order given, the last pushed is taken first: the end of the list goes first.
    for (let end = tokens.length; end > 0; end -= batch) {
      const chunk = tokens.slice(Math.max(0, end - batch), end).reverse();
      handedBack += Number(await HAND_BACK.run(this.redis, keys, chunk));
    }
    return handedBack;
  }

  /** Requeues every claim whose lease ran out, in bounded batches. Returns how many events went back. */
  async reap(batch = REAP_BATCH): Promise<number> {
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.ready, this.keys.deliveries];
    return this.drain(() => REAP.run(this.redis, keys, [batch]), batch);
  }

  /** Moves every retry that is due to the consuming end of the list. Returns how many. */
  async promoteDue(batch = PROMOTE_BATCH): Promise<number> {
    const keys = [this.keys.delayed, this.keys.delayedEvents, this.keys.ready];
    return this.drain(() => PROMOTE.run(this.redis, keys, [batch]), batch);
  }

  /** Counts of each part of the queue, read atomically. */
  async stats(): Promise<QueueStats> {
    return (await this.state(false)).stats;
  }

  /**
   * The counts and, with `next`, the ready event consumed next (the right end: RPOP side, where
   * requeued events go too), all in one MULTI: one round trip, one moment.
   */
  async state(next = true): Promise<{ stats: QueueStats; next: Buffer | null }> {
    const multi = this.redis.multi().llen(this.keys.ready).zcard(this.keys.inflight).zcard(this.keys.delayed).llen(this.keys.dead);
    const replies = await (next ? multi.lindexBuffer(this.keys.ready, -1) : multi).exec();
    const [ready, inflight, delayed, dead, tail] = execResults(replies, `stats of '${this.list}'`);
    const [r, i, d, x] = [ready, inflight, delayed, dead].map(Number);
    return { stats: { list: this.list, ready: r, inflight: i, delayed: d, dead: x }, next: Buffer.isBuffer(tail) ? tail : null };
  }

  /** The newest `count` dead-letter entries as stored (DeadLetter JSON, bytes untouched). */
  async peekDead(count: number): Promise<Buffer[]> {
    return count > 0 ? this.redis.lrangeBuffer(this.keys.dead, 0, count - 1) : [];
  }

  /**
   * Puts dead-lettered events back on the ready list exactly as published, oldest first, at most
   * `count` (default: all there are), only those dead-lettered for `reason` if one is given,
   * atomically per batch; their counters start again. Other entries stay where they are.
   */
  async redrive(count = Infinity, batch = REDRIVE_BATCH, reason?: DeadLetterReason): Promise<{ redriven: number; skipped: number }> {
    const keys = [this.keys.dead, this.keys.ready, this.keys.deliveries, this.keys.failures];
    let redriven = 0;
    let skipped = 0;
    // Entries from the oldest end already looked at and kept.
    let start = 0;
    while (redriven < count) {
      const limit = Math.min(batch, count - redriven);
      const reply = (await REDRIVE.run(this.redis, keys, [limit, reason ?? '', start, batch * 10])) as number[];
      const [moved, kept, seen, ended] = reply.map(Number);
      redriven += moved;
      skipped += kept;
      start += seen - moved;
      if (ended === 1) break;
    }
    return { redriven, skipped };
  }

  /** Deletes the dead-letter list, or every key of the queue, in one transaction; returns the counts it held. */
  async purge(scope: PurgeScope): Promise<QueueStats> {
    const k = this.keys;
    const doomed = scope === 'dead' ? [k.dead] : [k.ready, k.inflight, k.inflightEvents, k.delayed, k.delayedEvents, k.deliveries, k.failures, k.dead];
    const replies = await this.redis
      .multi()
      .llen(k.ready)
      .zcard(k.inflight)
      .zcard(k.delayed)
      .llen(k.dead)
      .del(...doomed)
      .exec();
    const [ready, inflight, delayed, dead] = execResults(replies, `purge of '${this.list}'`).map(Number);
    return scope === 'dead' ? { list: this.list, ready: 0, inflight: 0, delayed: 0, dead } : { list: this.list, ready, inflight, delayed, dead };
  }

  /**
   * Waits until the ready list has an event or `timeoutMs` passes, on a connection of its own
   * (blocking commands hold their connection). BLMOVE from the list's right end to its right end
   * puts the element back where it was in the same step, so nothing is taken and nothing can be
   * lost; it only wakes us. Needs Redis >= 6.2.
   */
  async waitForEvents(blocking: RedisClient, timeoutMs: number): Promise<boolean> {
    const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(3);
    return (await blocking.blmoveBuffer(this.keys.ready, this.keys.ready, 'RIGHT', 'RIGHT', seconds)) !== null;
  }

  private async drain(step: () => Promise<unknown>, batch: number): Promise<number> {
    let total = 0;
    for (;;) {
      const [moved, seen] = ((await step()) as number[]).map(Number);
      total += moved;
      if (seen < batch) return total;
    }
  }
}

function execResults(replies: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!replies) throw new Error(`${what}: transaction aborted`);
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
