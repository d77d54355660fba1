/**
 * The leases of every event a consumer holds, renewed by one timer every third of the lease in
 * one script call (ZADD XX per token): no timer per event, however many are in hand.
 */
import { errorMessage, Logger } from '../log';
import type { Claim, Queue } from './queue';
import { intervalMs } from '../sleep';

/** An event in hand, from its claim until its outcome has landed (or it was handed back). */
export interface LeasedEvent {
  readonly claim: Claim;
  /** Local time (ms) until which the lease surely holds: the start of the last successful claim or renewal, plus the lease. */
  heldUntil: number;
  /** Its outcome (ack, retry, dead-letter, hand-back) is on its way: a missing lease is no surprise then. */
  settling: boolean;
  /** The lease ran out and a reaper requeued the event: it will be delivered again. */
  lost: boolean;
}

export class LeaseKeeper {
  private readonly held = new Map<string, LeasedEvent>();
  private timer?: NodeJS.Timeout;
  private renewal?: Promise<void>;
  private failures = 0;

  constructor(
    private readonly queue: Queue,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** Events in hand. */
  get size(): number {
    return this.held.size;
  }

  /** Starts keeping the lease of a claim made at local time `since` (ms, taken before the claim call). */
  hold(claim: Claim, since: number): LeasedEvent {
    const held: LeasedEvent = { claim, heldUntil: since + this.leaseMs, settling: false, lost: false };
    this.held.set(claim.token, held);
    this.timer ??= setInterval(() => void this.renew(), intervalMs(this.leaseMs / 3));
    return held;
  }

  release(held: LeasedEvent): void {
    this.held.delete(held.claim.token);
  }

  /** Stops renewing; waits for a renewal under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.renewal;
  }

  private renew(): void {
    if (this.renewal || this.held.size === 0) return;
    this.renewal = this.renewAll().finally(() => (this.renewal = undefined));
  }

  private async renewAll(): Promise<void> {
    const batch = [...this.held.values()];
    const sentAt = Date.now();
    try {
      const { lost } = await this.queue.extendLeases(
        batch.map((h) => h.claim.token),
        this.leaseMs,
      );
      const gone = new Set(lost);
      for (const held of batch) {
        if (!gone.has(held.claim.token)) {
          held.heldUntil = sentAt + this.leaseMs;
        } else if (this.held.get(held.claim.token) === held && !held.settling) {
          held.lost = true;
          this.held.delete(held.claim.token);
          this.log.warn('lease lost: the event was requeued while its handler still runs', { token: held.claim.token });
        }
      }
      if (this.failures > 0) this.log.info('lease renewal works again', { failures: this.failures });
      this.failures = 0;
    } catch (error) {
      // Keep trying: each lease is still valid until its deadline.
      this.failures++;
      if (this.failures === 1 || this.failures % 10 === 0) this.log.warn('lease renewal failed', { error: errorMessage(error), events: batch.length, failures: this.failures });
    }
  }
}
