/**
 * The deliveries a consumer holds and how each ends, in Job mode and loop mode alike: run the
 * handler while the lease is kept, then acknowledge (batched), retry with backoff, or
 * dead-letter; at stop, give the grace period to handlers still running and hand back what did
 * not finish.
 */
import { performance } from 'perf_hooks';
import type { QueueEvent } from '../contract';
import { errorMessage, Logger } from '../log';
import { untilLanded } from '../redis/retry';
import type { ConsumerMetrics } from './metrics';
import { StopClock } from '../claim/stop';
import { Acker, createAcker } from './acks';
import { parseEvent } from './event';
import { DeliveryContext } from './delivery-context';
import type { EventHandler } from './handler';
import { LeasedEvent, LeaseKeeper } from './leases';
import type { Claim, Queue, RetryPolicy } from './queue';

/** What giving up on a Redis call that finishes an event means. */
const EVENT_AGAIN = 'the event will be delivered again';

/**
 * How a delivery ended. `retried`: the handler failed and the event waits in `<list>:delayed`.
 * `lost`: the lease ran out and a reaper requeued the event before this consumer finished it, so
 * it will be delivered again. `unconfirmed`: Redis did not confirm the outcome in time; if it did
 * not land, the event is delivered again. `handed-back`: the consumer stopped before the handler
 * finished and put the event back on the list.
 */
export type Outcome = 'processed' | 'retried' | 'dead-lettered' | 'lost' | 'unconfirmed' | 'handed-back';

/** What the consumers share. */
export interface ConsumerContext {
  readonly queue: Queue;
  readonly leaseMs: number;
  readonly handler: EventHandler;
  readonly log: Logger;
  readonly metrics: ConsumerMetrics;
  readonly retry: Required<RetryPolicy>;
  readonly maxDeliveries: number;
  readonly graceMs: number;
  /** 'event claimed' lines: info in Job mode (one per pod), debug in loop mode (the hot path). */
  readonly claimLogLevel: 'info' | 'debug';
}

/** What a consumer did, for the line it logs when it stops. */
export interface Tally {
  processed: number;
  /** Handler failures (each then retried or dead-lettered). */
  failed: number;
  retried: number;
  /** For any reason: malformed, handler-failed. */
  deadLettered: number;
  handedBack: number;
  /** Finished after the lease ran out, or not confirmed by Redis: they will run again. */
  lost: number;
  unconfirmed: number;
}

interface Running {
  readonly held: LeasedEvent;
  /** Given back at stop while its handler still ran: whatever the handler does now is ignored. */
  handedBack: boolean;
}

/** The events a consumer holds, each from its claim until its outcome has landed. */
export class Deliveries {
  private readonly keeper: LeaseKeeper;
  private readonly acker: Acker;
  /** Events whose handler runs. */
  private readonly running = new Map<string, Running>();
  /** Deliveries past their handler whose outcome is on its way to Redis. */
  private readonly finishing = new Set<Promise<Outcome>>();
  private idle?: () => void;
  private readonly clock = new StopClock();
  readonly tally: Tally = { processed: 0, failed: 0, retried: 0, deadLettered: 0, handedBack: 0, lost: 0, unconfirmed: 0 };

  constructor(
    private readonly ctx: ConsumerContext,
    /** Called each time a handler finishes (a slot is free). */
    private readonly onFree: () => void = () => undefined,
  ) {
    this.keeper = new LeaseKeeper(ctx.queue, ctx.leaseMs, ctx.log);
    this.acker = createAcker(ctx.queue, ctx.log);
  }

  /** Handlers running now. */
  get busy(): number {
    return this.running.size;
  }

  /** Events held now (running, or waiting for their outcome to land). */
  get holding(): number {
    return this.keeper.size;
  }

  /** Handles a claim made at local time `since` (taken before the claim call). Never rejects. */
  start(claim: Claim, since: number): Promise<Outcome> {
    const entry: Running = { held: this.keeper.hold(claim, since), handedBack: false };
    this.running.set(claim.token, entry);
    const outcome = this.deliver(entry).catch((error: unknown) => {
      // Not expected: every step catches its own failures. The lease runs out; the event runs again.
      this.ctx.log.error('could not finish event; it will be redelivered after its lease', { token: claim.token, error: errorMessage(error) });
      this.handlerDone(entry);
      this.keeper.release(entry.held);
      return 'unconfirmed' as const;
    });
    return outcome.then((o) => {
      this.count(o);
      return o;
    });
  }

  private count(outcome: Outcome): void {
    const t = this.tally;
    if (outcome === 'processed') t.processed++;
    else if (outcome === 'retried') t.retried++;
    else if (outcome === 'dead-lettered') t.deadLettered++;
    else if (outcome === 'lost') t.lost++;
    else if (outcome === 'unconfirmed') t.unconfirmed++;
    // handed-back: counted by stop(), which hands them back
  }

  /**
   * Stops: waits for running handlers until `graceDeadline` (local ms), hands back the events whose
   * handler did not finish (at the consuming end, deliveries not counted), lets the outcomes of the
   * others land, stops renewing. Returns how many events were handed back.
   */
  async stop(graceDeadline: number): Promise<number> {
    if (this.running.size > 0) {
      this.ctx.log.info('finishing events in hand', { events: this.running.size, graceSeconds: Math.max(0, (graceDeadline - Date.now()) / 1000) });
    }
    await this.clock.graceWait(graceDeadline, (idle) => (this.running.size === 0 ? idle() : (this.idle = idle)));
    const unfinished = [...this.running.values()];
    let handedBack = 0;
    if (unfinished.length > 0) {
      for (const entry of unfinished) {
        entry.handedBack = true;
        entry.held.settling = true;
        this.handlerDone(entry);
      }
      const tokens = unfinished.map((e) => e.held.claim.token);
      handedBack = (await untilLanded('hand-back', () => this.ctx.queue.handBack(tokens), this.clock.handoffBy, this.ctx.log, EVENT_AGAIN)) ?? 0;
      this.tally.handedBack += handedBack;
      for (const entry of unfinished) this.keeper.release(entry.held);
      this.ctx.log.warn('grace period over: handed events back to the list', { events: unfinished.length, handedBack, tokens });
    }
    const landing = Promise.all(this.finishing);
    await Promise.all([this.acker.close(this.clock.handoffBy()), landing]);
    await this.keeper.stop();
    return handedBack;
  }

  private async deliver(entry: Running): Promise<Outcome> {
    const { ctx } = this;
    const claim = entry.held.claim;
    const parsed = parseEvent(claim.raw, claim.token);
    if (!parsed.ok) {
      this.handlerDone(entry);
      ctx.log.warn('malformed event', { token: claim.token, error: parsed.error });
      return this.track(this.deadLetter(entry.held, parsed.error));
    }
    const event = parsed.event;
    ctx.log[ctx.claimLogLevel]('event claimed', { eventId: event.id, token: claim.token, delivery: claim.delivery, wait: event.wait });

    const started = performance.now();
    let failure: { error: unknown } | undefined;
    try {
      await ctx.handler(event, new DeliveryContext(ctx.log, event.id, claim));
    } catch (error) {
      failure = { error };
    }
    const seconds = (performance.now() - started) / 1000;
    if (entry.handedBack) return 'handed-back';
    entry.held.settling = true;
    ctx.metrics.processingSeconds.observe(seconds);
    if (!failure) {
      this.handlerDone(entry);
      // Not tracked: the acker's close() lets pending acks land or gives up on them.
      return this.acknowledge(entry.held, event, seconds);
    }
    // The slot frees once the retry is in the delayed zset, so the next claim sees when it is due.
    const outcome = this.track(this.failed(entry.held, event, failure.error));
    return outcome.finally(() => this.handlerDone(entry));
  }

  private async acknowledge(held: LeasedEvent, event: QueueEvent, seconds: number): Promise<Outcome> {
    const { ctx } = this;
    const result = await this.acker.write(held);
    this.keeper.release(held);
    const fields = { eventId: event.id, token: held.claim.token, seconds: round(seconds) };
    if (result === 'lost' || held.lost) {
      ctx.log.warn('event handled, but its lease had run out and it was requeued: it will run again', fields);
      return 'lost';
    }
    if (result === 'unconfirmed') {
      ctx.log.warn('event handled, but Redis did not confirm the acknowledgement: it may run again', fields);
      return 'unconfirmed';
    }
    ctx.metrics.processed.inc();
    if (event.enqueuedAt !== undefined) ctx.metrics.latencySeconds.observe(Math.max(0, Date.now() - event.enqueuedAt) / 1000);
    ctx.log.info('event processed', fields);
    return 'processed';
  }

  private async failed(held: LeasedEvent, event: QueueEvent, error: unknown): Promise<Outcome> {
    const { ctx } = this;
    const message = errorMessage(error);
    const token = held.claim.token;
    ctx.metrics.failed.inc();
    this.tally.failed++;
    const result = await untilLanded(
      'retry',
      () => ctx.queue.retry(held.claim, message, ctx.retry),
      () => this.giveUpAt(held),
      ctx.log,
      EVENT_AGAIN,
    );
    this.keeper.release(held);
    const fields = { eventId: event.id, token, error: message };
    switch (result?.outcome) {
      case 'retried':
        ctx.metrics.retried.inc();
        ctx.log.warn('handler failed; retrying later', { ...fields, attempts: result.attempts, retryAt: new Date(result.dueAt).toISOString() });
        return 'retried';
      case 'dead-lettered':
        ctx.metrics.deadLettered.inc({ reason: 'handler-failed' });
        ctx.log.warn('handler failed; event dead-lettered', { ...fields, attempts: result.attempts, reason: 'handler-failed', dead: ctx.queue.keys.dead });
        return 'dead-lettered';
      case 'lost':
        ctx.log.warn('handler failed, and its lease had run out: it will run again', fields);
        return 'lost';
      default:
        return 'unconfirmed';
    }
  }

  private async deadLetter(held: LeasedEvent, error: string): Promise<Outcome> {
    const { ctx } = this;
    held.settling = true;
    const landed = await untilLanded(
      'dead-letter',
      () => ctx.queue.deadLetter(held.claim, { reason: 'malformed', error }),
      () => this.giveUpAt(held),
      ctx.log,
      EVENT_AGAIN,
    );
    this.keeper.release(held);
    if (landed === undefined) return 'unconfirmed';
    if (!landed) {
      ctx.log.warn('could not dead-letter: the lease had run out and the event was requeued', { token: held.claim.token, reason: 'malformed' });
      return 'lost';
    }
    ctx.metrics.deadLettered.inc({ reason: 'malformed' });
    ctx.log.warn('event dead-lettered', { token: held.claim.token, reason: 'malformed', dead: ctx.queue.keys.dead });
    return 'dead-lettered';
  }

  private giveUpAt(held: LeasedEvent): number {
    return Math.min(held.heldUntil, this.clock.handoffBy());
  }

  private track(outcome: Promise<Outcome>): Promise<Outcome> {
    this.finishing.add(outcome);
    return outcome.finally(() => this.finishing.delete(outcome));
  }

  private handlerDone(entry: Running): void {
    if (!this.running.delete(entry.held.claim.token)) return;
    this.onFree();
    if (this.running.size === 0) this.idle?.();
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
