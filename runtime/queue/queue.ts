/**
 * A Redis list used as a reliable queue: events are leased rather than popped, so a consumer
 * that dies mid-event loses nothing — its lease runs out and a reaper puts the event back.
 * Delivery is at least once: a handler that outlives a lost lease may see its event run again.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { DeadLetter, DeadLetterReason, queueKeys } from '../contract';
import { ACK, CLAIM, DEAD_LETTER, EXTEND_LEASE, REAP } from './scripts';

/** An event this consumer holds until it acks, dead-letters or loses the lease. */
export interface Claim {
  /** Unique per delivery; the in-flight key of the event. */
  readonly token: string;
  /** The event exactly as published. */
  readonly raw: string;
  /** Lease deadline at claim time, ms since the epoch by the Redis clock. */
  readonly deadline: number;
}

export interface QueueStats {
  readonly list: string;
  readonly ready: number;
  readonly inflight: number;
  readonly delayed: number;
  readonly dead: number;
}

export interface DeadLetterOptions {
  readonly reason: DeadLetterReason;
  readonly error: string;
  /** Deliveries that ended in failure, this one included. @default 1 */
  readonly attempts?: number;
}

/** Expired claims requeued per script call; small enough not to block Redis noticeably. */
export const REAP_BATCH = 100;

export class Queue {
  readonly keys: ReturnType<typeof queueKeys>;

  constructor(
    readonly redis: Redis,
    readonly list: string,
  ) {
    this.keys = queueKeys(list);
  }

  /** LPUSHes raw events in one command, in order (the first given is taken first). Returns the new ready length. */
  async publish(events: readonly string[]): Promise<number> {
    if (events.length === 0) return this.redis.llen(this.keys.ready);
    return this.redis.lpush(this.keys.ready, ...events);
  }

  /** Takes up to `count` events (fewer if the list runs short, none if it is empty) in one atomic step. */
  async claim(leaseMs: number, count = 1): Promise<Claim[]> {
    const tokens = Array.from({ length: count }, () => randomUUID());
    const reply = (await CLAIM.run(this.redis, [this.keys.ready, this.keys.inflight, this.keys.inflightEvents], [Math.round(leaseMs), ...tokens])) as [
      number,
      ...string[],
    ];
    const [deadline, ...pairs] = reply;
    const claims: Claim[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) claims.push({ token: pairs[i], raw: pairs[i + 1], deadline: Number(deadline) });
    return claims;
  }

  /** Finishes a claim. False if it was no longer held (reaped and requeued: it may run again). */
  async ack(token: string): Promise<boolean> {
    return (await ACK.run(this.redis, [this.keys.inflight, this.keys.inflightEvents], [token])) === 1;
  }

  /** Renews a held lease to now + leaseMs. Returns the new deadline, or undefined if the claim was lost. */
  async extendLease(token: string, leaseMs: number): Promise<number | undefined> {
    const deadline = Number(await EXTEND_LEASE.run(this.redis, [this.keys.inflight], [token, Math.round(leaseMs)]));
    return deadline > 0 ? deadline : undefined;
  }

  /** Moves a held event to `<list>:dead` with why it failed. False if the claim was lost (nothing written). */
  async deadLetter(claim: Pick<Claim, 'token' | 'raw'>, options: DeadLetterOptions): Promise<boolean> {
    const entry: DeadLetter = {
      event: claim.raw,
      reason: options.reason,
      error: options.error,
      attempts: options.attempts ?? 1,
      failedAt: Date.now(),
    };
    const keys = [this.keys.inflight, this.keys.inflightEvents, this.keys.dead];
    return (await DEAD_LETTER.run(this.redis, keys, [claim.token, JSON.stringify(entry)])) === 1;
  }

  /** Requeues every claim whose lease ran out, in bounded batches. Returns how many events went back. */
  async reap(batch = REAP_BATCH): Promise<number> {
    let total = 0;
    for (;;) {
      const [requeued, seen] = (await REAP.run(this.redis, [this.keys.inflight, this.keys.inflightEvents, this.keys.ready], [batch])) as [number, number];
      total += requeued;
      if (seen < batch) return total;
    }
  }

  /** Counts of each part of the queue, read atomically. */
  async stats(): Promise<QueueStats> {
    const replies = await this.redis
      .multi()
      .llen(this.keys.ready)
      .zcard(this.keys.inflight)
      .zcard(this.keys.delayed)
      .llen(this.keys.dead)
      .exec();
    if (!replies) throw new Error(`stats of '${this.list}': transaction aborted`);
    const [ready, inflight, delayed, dead] = replies.map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    });
    return { list: this.list, ready, inflight, delayed, dead };
  }
}
