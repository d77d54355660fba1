/**
 * The reaper: requeues events whose lease ran out and moves due retries to the list. Job mode
 * runs it once before claiming, loop mode every half lease.
 */
import { errorMessage } from '../log';
import { intervalMs } from '../sleep';
import type { ConsumerContext } from './deliveries';

/** One reaper pass over the queue; logs and counts what it did, never throws. */
export async function reapQueue(ctx: ConsumerContext): Promise<void> {
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

/** Reaps now and every half lease until stopped; never two passes at once. */
export class Reaper {
  private timer?: NodeJS.Timeout;
  private reaping?: Promise<void>;

  constructor(private readonly ctx: ConsumerContext) {}

  /** Resolves once the first pass is done. */
  async start(): Promise<void> {
    await this.reap();
    this.timer = setInterval(() => void this.reap(), intervalMs(this.ctx.leaseMs / 2));
  }

  /** Stops the timer; waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reaping;
  }

  private reap(): Promise<void> {
    this.reaping ??= reapQueue(this.ctx).finally(() => (this.reaping = undefined));
    return this.reaping;
  }
}
