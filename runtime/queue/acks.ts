/**
 * Acknowledgements in batches: acks asked for in the same tick go out in one script call, and
 * while a call is under way the next batch gathers, so a busy consumer sends few large calls and
 * an idle one adds no delay. An ack that fails (Redis away) is retried until it lands or the
 * lease surely ran out.
 */
import { errorMessage, Logger } from '../log';
import { sleep } from '../sleep';
import { redisRetryDelay } from './landing';
import type { Held } from './leases';
import type { Queue } from './queue';

/**
 * `acked`: done. `lost`: the lease had run out and the event was requeued; it runs again.
 * `unconfirmed`: Redis did not answer in time; if the ack did not land, the event runs again.
 */
export type AckResult = 'acked' | 'lost' | 'unconfirmed';

/** Tokens per ACK call: a bound on the time one script holds Redis. */
export const MAX_ACK_BATCH = 500;

interface Pending {
  readonly held: Held;
  /** An earlier call failed: a 0 now may mean that call landed after all. */
  retried: boolean;
  readonly resolve: (result: AckResult) => void;
}

export class Acker {
  private pending: Pending[] = [];
  private draining?: Promise<void>;
  private errors = 0;
  /** Once closing: give up on what has not landed by then (local ms). */
  private closeBy = Infinity;
  private readonly closing = new AbortController();

  constructor(
    private readonly queue: Queue,
    private readonly log: Logger,
  ) {}

  ack(held: Held): Promise<AckResult> {
    return new Promise((resolve) => {
      this.pending.push({ held, retried: false, resolve });
      this.draining ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Lets pending acks land until `deadline` (local ms); what has not landed then resolves `unconfirmed`. */
  async close(deadline: number): Promise<void> {
    this.closeBy = deadline;
    const timer = setTimeout(() => this.closing.abort(), Math.max(0, deadline - Date.now()));
    try {
      await this.draining;
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_ACK_BATCH);
      try {
        const held = await this.queue.ackMany(batch.map((p) => p.held.claim.token));
        if (this.errors > 0) this.log.info('acknowledgements land again', { failures: this.errors });
        this.errors = 0;
        batch.forEach((p, i) => p.resolve(held[i] ? 'acked' : p.retried ? 'unconfirmed' : 'lost'));
      } catch (error) {
        this.errors++;
        const giveUp = Date.now() + redisRetryDelay(this.errors);
        const keep = batch.filter((p) => {
          if (giveUp < Math.min(p.held.heldUntil, this.closeBy)) return (p.retried = true);
          p.resolve('unconfirmed');
          return false;
        });
        if (this.errors === 1 || this.errors % 10 === 0) {
          this.log.warn('acknowledgement failed; retrying while the leases hold', { error: errorMessage(error), events: batch.length, retrying: keep.length });
        }
        this.pending.unshift(...keep);
        if (keep.length > 0) await sleep(redisRetryDelay(this.errors), this.closing.signal);
      }
    }
    this.draining = undefined;
  }
}
