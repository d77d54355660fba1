/**
 * The claim engine both workers (queue consumer, Celery consumer) run: claim lanes that each take
 * up to their share of the free slots in one Redis call, a wake-up when a slot frees, one shared
 * wait for work when the lists run dry (a blocking command on a connection of its own, or polling),
 * capped backoff on errors, and the clock of a graceful stop (grace, then hand-off).
 */
import { setImmediate as nextTick } from 'timers/promises';
import type { RedisClient } from '../redis/connection';
import { errorMessage, Logger } from '../log';
import { redisRetryDelay } from '../redis/retry';
import { sleep } from '../sleep';

/** How a worker claims; the values differ per worker (see QUEUE_CLAIMING, CELERY_CLAIMING). */
export interface ClaimTuning {
  /** Claim calls under way at once, each for its share of the free slots. */
  readonly lanes: number;
  /** The most one claim call takes (what its Lua script accepts). */
  readonly maxBatch: number;
  /** The longest single wait for work when the lists are empty. */
  readonly maxWaitMs: number;
  /** Without a blocking connection: the first poll interval, doubled per empty claim up to `maxPollMs`. */
  readonly minPollMs: number;
  readonly maxPollMs: number;
  /** What is claimed, for log lines: 'events', 'messages'. */
  readonly noun: string;
}

/** What one claim call found. */
export interface ClaimOutcome {
  /** Fewer came than were asked for: wait for work before the next claim. */
  readonly drained: boolean;
  /** When drained: how soon work is due anyway (a retry falling due), ms. @default - ClaimTuning.maxWaitMs */
  readonly untilDueMs?: number;
}

/** The worker's side of the engine. */
/** `C`: the client the wait blocks on (the Celery worker's is always one server). */
export interface ClaimSource<C extends RedisClient = RedisClient> {
  /** Slots in use: work running, or claimed and waiting for a slot. */
  busy(): number;
  /** Claiming waits for a wake-up while this holds (e.g. as many eta tasks held as allowed). */
  saturated?(): boolean;
  /** Local time (ms) before which claiming pauses. */
  pausedUntil?(): number;
  /** Claims up to `want` and starts what came. Rejects on a Redis error (the engine backs off). */
  claim(want: number): Promise<ClaimOutcome>;
  /** Blocks on `connection` until work may be there, `timeoutMs` at most. */
  waitForWork(connection: C, timeoutMs: number): Promise<unknown>;
}

export interface ClaimEngineOptions<C extends RedisClient = RedisClient> {
  readonly concurrency: number;
  readonly signal: AbortSignal;
  /** The connection claims go over: while it is not ready, nothing is claimed. */
  readonly redis: RedisClient;
  /** A connection of its own for the blocking wait; without one the engine polls. */
  readonly blocking?: C;
  readonly log: Logger;
  readonly tuning: ClaimTuning;
}

/**
 * Runs `lanes` claim loops at once (never more than there are slots, at least one), each for
 * its share of the slots capped at `maxBatch`: while one batch runs, the next claim is on its way.
 */
export function runClaimLanes(lanes: number, concurrency: number, maxBatch: number, claimLoop: (batchLimit: number) => Promise<void>): Promise<void[]> {
  const n = Math.max(1, Math.min(lanes, concurrency));
  const batchLimit = Math.min(Math.ceil(concurrency / n), maxBatch);
  return Promise.all(Array.from({ length: n }, () => claimLoop(batchLimit)));
}

export class ClaimEngine<C extends RedisClient = RedisClient> {
  /** Claim lanes waiting for a free slot. */
  private waiters: (() => void)[] = [];
  /** Slots asked for by claim calls under way. */
  private reserved = 0;
  /** The wait for work under way, shared by the lanes. */
  private workWait?: Promise<void>;
  private errors = 0;
  private pollMs: number;

  constructor(
    private readonly options: ClaimEngineOptions<C>,
    private readonly source: ClaimSource<C>,
  ) {
    this.pollMs = options.tuning.minPollMs;
  }

  /** Claims until the signal aborts; resolves with the local time claiming stopped. */
  async run(): Promise<number> {
    const { signal, blocking, tuning, concurrency } = this.options;
    const onAbort = () => {
      this.wake();
      // Ends a blocking wait at once.
      blocking?.disconnect();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await runClaimLanes(tuning.lanes, concurrency, tuning.maxBatch, (limit) => this.claimLoop(limit));
      return Date.now();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** A slot freed (or claiming may resume): every lane waiting looks again. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private waitForWake(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private async claimLoop(batchLimit: number): Promise<void> {
    const { options, source } = this;
    const { signal, log } = options;
    while (!signal.aborted) {
      if (source.saturated?.()) {
        await this.waitForWake();
        continue;
      }
      const want = Math.min(options.concurrency - source.busy() - this.reserved, batchLimit);
      if (want <= 0) {
        await this.waitForWake();
        // Let every handler that finishes in this tick free its slot: one claim for all of them.
        await nextTick();
        continue;
      }
      const pause = (source.pausedUntil?.() ?? 0) - Date.now();
      if (pause > 0) {
        await sleep(pause, signal);
        continue;
      }
      if (options.redis.status !== 'ready') {
        // Claims queued on a broken connection would land later for nobody (held until they time out).
        await sleep(100, signal);
        continue;
      }
      let outcome: ClaimOutcome;
      this.reserved += want;
      try {
        outcome = await source.claim(want);
      } catch (error) {
        this.errors++;
        if (this.errors === 1 || this.errors % 10 === 0) log.error('claim failed; retrying', { error: errorMessage(error), failures: this.errors });
        await sleep(redisRetryDelay(this.errors), signal);
        continue;
      } finally {
        this.reserved -= want;
      }
      if (this.errors > 0) log.info('claiming works again', { failures: this.errors });
      this.errors = 0;
      if (!outcome.drained) {
        this.pollMs = options.tuning.minPollMs;
      } else if (!signal.aborted) {
        await this.waitForWork(outcome.untilDueMs ?? options.tuning.maxWaitMs);
      }
    }
  }

  /** The lists were drained: wait until work arrives, is due, or the engine stops. One wait for all lanes. */
  private waitForWork(untilDueMs: number): Promise<void> {
    this.workWait ??= this.blockOrPoll(Math.max(0, Math.min(untilDueMs, this.options.tuning.maxWaitMs))).finally(() => (this.workWait = undefined));
    return this.workWait;
  }

  private async blockOrPoll(timeoutMs: number): Promise<void> {
    const { signal, blocking, tuning, log } = this.options;
    if (timeoutMs === 0) return;
    if (!blocking) {
      await sleep(Math.min(this.pollMs, timeoutMs), signal);
      this.pollMs = Math.min(this.pollMs * 2, tuning.maxPollMs);
      return;
    }
    try {
      await this.source.waitForWork(blocking, timeoutMs);
    } catch (error) {
      if (signal.aborted) return;
      log.debug(`waiting for ${tuning.noun} failed`, { error: errorMessage(error) });
      await sleep(redisRetryDelay(++this.errors), signal);
    }
  }
}
