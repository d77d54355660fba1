/**
 * Results and acks in batches: tasks that finish in the same tick are written in one FINISH
 * call, and while a call is under way the next batch gathers. A call that fails (Redis away) is
 * retried with backoff until it lands or the finisher is closed past its deadline; what never
 * landed stays in `unacked` and is restored after the visibility timeout (at least once).
 */
import { errorMessage, Logger } from '../log';
import { redisRetryDelay } from '../queue/landing';
import { sleep } from '../sleep';
import { CeleryBroker, Finished, MAX_FINISH_BATCH } from './broker';

interface Pending {
  readonly finished: Finished;
  readonly resolve: (landed: boolean) => void;
}

export class Finisher {
  private pending: Pending[] = [];
  private draining?: Promise<void>;
  private errors = 0;
  private closeBy = Infinity;
  private readonly closing = new AbortController();

  constructor(
    private readonly broker: CeleryBroker,
    private readonly log: Logger,
  ) {}

  /** Resolves true once the result and ack landed, false if they were given up at close. */
  finish(finished: Finished): Promise<boolean> {
    return new Promise((resolve) => {
      this.pending.push({ finished, resolve });
      this.draining ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Lets pending writes land until `deadline` (local ms); the rest resolve false. */
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
      const batch = this.pending.splice(0, MAX_FINISH_BATCH);
      try {
        await this.broker.finish(batch.map((p) => p.finished));
        if (this.errors > 0) this.log.info('results land again', { failures: this.errors });
        this.errors = 0;
        for (const p of batch) p.resolve(true);
      } catch (error) {
        this.errors++;
        if (this.errors === 1 || this.errors % 10 === 0) this.log.warn('storing results failed; retrying', { error: errorMessage(error), tasks: batch.length, failures: this.errors });
        if (Date.now() + redisRetryDelay(this.errors) >= this.closeBy) {
          this.log.error('storing results failed; giving up: the tasks stay unacknowledged and are restored after the visibility timeout', { tasks: batch.length });
          for (const p of batch) p.resolve(false);
          continue;
        }
        this.pending.unshift(...batch);
        await sleep(redisRetryDelay(this.errors), this.closing.signal);
      }
    }
    this.draining = undefined;
  }
}
