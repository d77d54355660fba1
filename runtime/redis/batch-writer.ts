/**
 * Writes in batches: items asked for in the same tick go out in one call, and while a call is
 * under way the next batch gathers, so a busy worker sends few large calls and an idle one adds
 * no delay. A call that fails (Redis away) is retried with backoff, each item until its own
 * deadline or the writer's close deadline, whichever comes first; then it resolves `givenUp`.
 */
import { errorMessage, Logger } from '../log';
import { setLongTimeout, sleep } from '../sleep';
import { redisRetryDelay } from './retry';

/** One item of a batch. */
export interface Batched<I> {
  readonly item: I;
  /** An earlier call with this item failed: it may have landed after all. */
  retried: boolean;
}

export interface BatchWriterOptions<I, R> {
  /** Writes one batch; resolves one outcome per item, in order. */
  readonly write: (batch: readonly Batched<I>[]) => Promise<R[]>;
  /** Items per call: a bound on the time one script holds Redis. */
  readonly maxBatch: number;
  /** The outcome of an item given up on. */
  readonly givenUp: R;
  /** Local ms after which an item is not retried any more. @default - until the writer closes */
  readonly retryUntil?: (item: I) => number;
  readonly log: Logger;
  /** What is written, for the log: `acknowledgements`, `results`. */
  readonly what: string;
  /** What giving up on an item means, for the log. */
  readonly givingUpMeans: string;
}

interface Pending<I, R> extends Batched<I> {
  readonly resolve: (outcome: R) => void;
}

export class BatchWriter<I, R> {
  private pending: Pending<I, R>[] = [];
  private draining?: Promise<void>;
  private errors = 0;
  /** Once closing: give up on what has not landed by then (local ms). */
  private closeBy = Infinity;
  private readonly closing = new AbortController();

  constructor(private readonly options: BatchWriterOptions<I, R>) {}

  write(item: I): Promise<R> {
    return new Promise((resolve) => {
      this.pending.push({ item, retried: false, resolve });
      this.draining ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Lets pending writes land until `deadline` (local ms); the rest resolve `givenUp`. */
  async close(deadline: number): Promise<void> {
    this.closeBy = deadline;
    const timer = setLongTimeout(() => this.closing.abort(), deadline - Date.now());
    try {
      await this.draining;
    } finally {
      timer.clear();
    }
  }

  private async drain(): Promise<void> {
    const { write, maxBatch, givenUp, retryUntil, log, what, givingUpMeans } = this.options;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, maxBatch);
      try {
        const outcomes = await write(batch);
        if (this.errors > 0) log.info(`${what} land again`, { failures: this.errors });
        this.errors = 0;
        batch.forEach((p, i) => p.resolve(outcomes[i]));
      } catch (error) {
        this.errors++;
        const next = Date.now() + redisRetryDelay(this.errors);
        const keep = batch.filter((p) => {
          if (next < Math.min(retryUntil?.(p.item) ?? Infinity, this.closeBy)) return (p.retried = true);
          p.resolve(givenUp);
          return false;
        });
        if (this.errors === 1 || this.errors % 10 === 0) {
          log.warn(`writing ${what} failed; retrying`, { error: errorMessage(error), items: batch.length, retrying: keep.length, failures: this.errors });
        }
        if (keep.length < batch.length) {
          log.error(`writing ${what} failed; giving up: ${givingUpMeans}`, { error: errorMessage(error), items: batch.length - keep.length });
        }
        this.pending.unshift(...keep);
        if (keep.length > 0) await sleep(redisRetryDelay(this.errors), this.closing.signal);
      }
    }
    this.draining = undefined;
  }
}
