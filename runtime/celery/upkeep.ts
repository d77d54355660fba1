/**
 * kombu's bookkeeping of unacknowledged messages, kept on timers: the messages this consumer
 * holds are refreshed in `unacked_index` (so nobody restores them), and messages other workers
 * took and left past the visibility timeout are restored to their queues.
 */
import type Redis from 'ioredis';
import { CeleryKeys } from '../contract';
import { errorMessage, Logger } from '../log';
import { intervalMs } from '../sleep';
import type { CeleryBroker } from './broker';
import type { CeleryWorkerMetrics } from './metrics';

export class UnackedUpkeep {
  private restoreTimer?: NodeJS.Timeout;
  private touchTimer?: NodeJS.Timeout;
  private restoring?: Promise<void>;
  private touching?: Promise<void>;

  constructor(
    private readonly broker: CeleryBroker,
    private readonly redis: Redis,
    private readonly visibilitySeconds: number,
    /** Delivery tags held now. */
    private readonly held: { tags(): string[]; has(tag: string): boolean; readonly size: number },
    private readonly metrics: CeleryWorkerMetrics,
    private readonly log: Logger,
  ) {}

  /** Restores once, then starts both timers. */
  async start(): Promise<void> {
    const visibilityMs = this.visibilitySeconds * 1000;
    await this.restore();
    // Fresh well within the visibility timeout, however long it is.
    this.restoreTimer = setInterval(() => void this.restore(), intervalMs(Math.min(visibilityMs / 2, 60_000)));
    this.touchTimer = setInterval(() => void this.touch(), intervalMs(Math.min(visibilityMs / 4, 30_000)));
  }

  /** Stops restoring others' messages (at the stop: this consumer takes nothing more). */
  async stopRestoring(): Promise<void> {
    clearInterval(this.restoreTimer);
    await this.restoring;
  }

  /** Stops refreshing (once nothing is held any more). */
  async stopTouching(): Promise<void> {
    clearInterval(this.touchTimer);
    await this.touching;
  }

  private restore(): Promise<void> {
    return (this.restoring ??= this.restoreTimedOut().finally(() => (this.restoring = undefined)));
  }

  private touch(): Promise<void> {
    return (this.touching ??= this.touchHeld().finally(() => (this.touching = undefined)));
  }

  private async touchHeld(): Promise<void> {
    if (this.held.size === 0 || this.redis.status !== 'ready') return;
    try {
      await this.broker.touch(this.held.tags());
    } catch (error) {
      this.log.warn('could not refresh held messages in unacked_index', { error: errorMessage(error), held: this.held.size });
    }
  }

  private async restoreTimedOut(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const { restored, unreadable } = (await this.broker.restoreTimedOut(this.visibilitySeconds, (tag) => this.held.has(tag))) ?? { restored: 0, unreadable: [] };
      if (unreadable.length > 0) {
        this.log.error(`timed-out entries of ${CeleryKeys.UNACKED} are not [message, exchange, routing_key] JSON; left in place`, { tags: unreadable });
      }
      if (restored) {
        this.metrics.restored.inc(restored);
        this.log.warn('restored unacknowledged messages past the visibility timeout', { restored, visibilityTimeout: this.visibilitySeconds });
      }
    } catch (error) {
      this.log.error('restoring timed-out messages failed', { error: errorMessage(error) });
    }
  }
}
