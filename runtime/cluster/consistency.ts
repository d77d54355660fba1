/**
 * The consistency checker (the idea of antirez's consistency-test): INCR on many keys through a cluster
 * connection and read each key back before the next INCR. A read below the last value an INCR acknowledged
 * is a lost write (the cluster forgot what it said it stored); a read above it is a write that was done but
 * not acknowledged (the reply was lost, e.g. in a failover). Each worker owns its keys, so no two INCRs of
 * one key are in flight at once and the expected value is exact.
 */
import type { Cluster, ClusterOptions } from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { ConsistencyMetrics } from '../contract';
import { errorMessage, Logger } from '../log';
import { clusterClient, resolveRedisOptions } from '../redis/connection';
import { sleep } from '../sleep';
import { NodeAddress } from './addresses';
import type { NodeConnectionOptions } from './node-client';

export interface ConsistencyOptions {
  /** Seed nodes of the cluster connection; any one reachable is enough. */
  readonly nodes: readonly NodeAddress[];
  readonly connection: NodeConnectionOptions;
  /** Keys INCRed, `<prefix><n>` for n in 0..keys-1. */
  readonly keys: number;
  readonly prefix: string;
  /** Writes per second at most (all workers together). */
  readonly rate: number;
  /** Workers, each with its own keys. @default 4 */
  readonly concurrency?: number;
  /** A command without a reply after this long counts as failed. @default 1000 */
  readonly commandTimeoutMs?: number;
  readonly log: Logger;
  /** Counters and gauges are registered here when given. */
  readonly registry?: Registry;
}

export interface ConsistencySummary {
  readonly reads: number;
  readonly writes: number;
  readonly failedReads: number;
  readonly failedWrites: number;
  /** Sum over reads of (last acknowledged value - value read) where the read was lower. */
  readonly lostWrites: number;
  /** Sum over reads of (value read - last acknowledged value) where the read was higher. */
  readonly notAcknowledgedWrites: number;
  /** Longest time between two successful writes since the start, ms (a write stall, e.g. during a failover). */
  readonly longestWriteGapMs: number;
  /** Longest such gap since the previous {@link ConsistencyChecker.tick}: what one report line covers. */
  readonly gapSinceLastTickMs: number;
  readonly elapsedMs: number;
}

type Counts = { -readonly [K in keyof ConsistencySummary]: number };

export class ConsistencyChecker {
  private readonly cluster: Cluster;
  private readonly expected = new Map<number, number>();
  private readonly counts: Counts = {
    reads: 0,
    writes: 0,
    failedReads: 0,
    failedWrites: 0,
    lostWrites: 0,
    notAcknowledgedWrites: 0,
    longestWriteGapMs: 0,
    gapSinceLastTickMs: 0,
    elapsedMs: 0,
  };
  private readonly controller = new AbortController();
  private workers: Promise<void>[] = [];
  private startedAt = 0;
  private lastWriteAt = 0;
  private readonly metrics?: { readonly [K in keyof Omit<Counts, 'longestWriteGapMs' | 'gapSinceLastTickMs' | 'elapsedMs'>]: Counter } & { readonly gap: Gauge };

  constructor(private readonly options: ConsistencyOptions) {
    const { host: _h, port: _p, db: _d, ...redisOptions } = resolveRedisOptions({ ...options.connection, commandTimeoutMs: options.commandTimeoutMs ?? 1000 });
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...redisOptions, lazyConnect: false, maxRetriesPerRequest: 1 },
      // A failover shows as failed commands for a moment, not as a stall: the checker measures the stall itself.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      maxRedirections: 16,
      slotsRefreshTimeout: 1000,
      clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      lazyConnect: true,
    };
    this.cluster = clusterClient(options.nodes, clusterOptions);
    let lastError: string | undefined;
    this.cluster.on('error', (error: Error) => {
      if (error.message !== lastError) options.log.warn('cluster connection error', { error: error.message });
      lastError = error.message;
    });
    if (options.registry) {
      const counter = (name: string, help: string) => new Counter({ name, help, registers: [options.registry as Registry] });
      this.metrics = {
        reads: counter(ConsistencyMetrics.READS, 'Successful reads of the consistency checker'),
        writes: counter(ConsistencyMetrics.WRITES, 'Acknowledged INCRs of the consistency checker'),
        failedReads: counter(ConsistencyMetrics.FAILED_READS, 'Reads that failed or timed out'),
        failedWrites: counter(ConsistencyMetrics.FAILED_WRITES, 'INCRs that failed or timed out (they may still have been done)'),
        lostWrites: counter(ConsistencyMetrics.LOST_WRITES, 'Acknowledged writes a later read did not see'),
        notAcknowledgedWrites: counter(ConsistencyMetrics.NOT_ACKNOWLEDGED_WRITES, 'Writes a later read saw whose INCR was not acknowledged'),
        gap: new Gauge({
          name: ConsistencyMetrics.LONGEST_WRITE_GAP,
          help: 'Longest time between two successful writes since the start, seconds',
          registers: [options.registry],
          collect: () => undefined,
        }),
      };
    }
  }

  /** Whether the cluster connection is up (the readiness probe). */
  get ready(): boolean {
    return this.cluster.status === 'ready';
  }

  /** Connects (waiting as long as it takes, until stop()) and starts the workers; resolves once they run. */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    this.lastWriteAt = this.startedAt;
    this.cluster.connect().catch((error: unknown) => this.options.log.warn('cluster connect failed; retrying', { error: errorMessage(error) }));
    const concurrency = Math.max(1, Math.min(this.options.concurrency ?? 4, this.options.keys));
    this.workers = Array.from({ length: concurrency }, (_, w) => this.work(w, concurrency));
  }

  /** Stops the workers, closes the connection, returns the final counts. */
  async stop(): Promise<ConsistencySummary> {
    this.controller.abort();
    await Promise.all(this.workers);
    this.cluster.disconnect();
    return this.summary();
  }

  /** The counts so far. */
  summary(): ConsistencySummary {
    return { ...this.counts, elapsedMs: Date.now() - (this.startedAt || Date.now()) };
  }

  /** The counts so far, then starts a new report window (gapSinceLastTickMs). */
  tick(): ConsistencySummary {
    const open = this.lastWriteAt ? Date.now() - this.lastWriteAt : 0;
    const summary = { ...this.summary(), gapSinceLastTickMs: Math.max(this.counts.gapSinceLastTickMs, open) };
    this.counts.gapSinceLastTickMs = 0;
    return summary;
  }

  private count(what: 'reads' | 'writes' | 'failedReads' | 'failedWrites' | 'lostWrites' | 'notAcknowledgedWrites', n = 1): void {
    this.counts[what] += n;
    this.metrics?.[what].inc(n);
  }

  private async work(worker: number, concurrency: number): Promise<void> {
    const { signal } = this.controller;
    const perWorkerMs = (1000 * concurrency) / this.options.rate;
    const own = Math.ceil((this.options.keys - worker) / concurrency);
    let next = Date.now();
    while (!signal.aborted) {
      const n = worker + concurrency * Math.floor(Math.random() * own);
      await this.step(n);
      next += perWorkerMs;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait, signal);
      else if (wait < -1000) next = Date.now();
    }
  }

  /** Reads key n and compares it with what the last acknowledged INCR returned, then INCRs it. */
  private async step(n: number): Promise<void> {
    const key = `${this.options.prefix}${n}`;
    try {
      const text = await this.cluster.get(key);
      this.count('reads');
      const value = text === null ? 0 : Number(text);
      const expected = this.expected.get(n);
      // A key seen the first time (a rerun on old keys) sets the expectation.
      if (expected !== undefined && value < expected) {
        this.count('lostWrites', expected - value);
        this.options.log.warn('lost writes', { key, expected, read: value });
      } else if (expected !== undefined && value > expected) {
        this.count('notAcknowledgedWrites', value - expected);
      }
      this.expected.set(n, value);
    } catch {
      this.count('failedReads');
    }
    try {
      const value = await this.cluster.incr(key);
      const now = Date.now();
      const gap = now - this.lastWriteAt;
      this.lastWriteAt = now;
      this.counts.longestWriteGapMs = Math.max(this.counts.longestWriteGapMs, gap);
      this.counts.gapSinceLastTickMs = Math.max(this.counts.gapSinceLastTickMs, gap);
      this.metrics?.gap.set(this.counts.longestWriteGapMs / 1000);
      this.count('writes');
      this.expected.set(n, value);
    } catch {
      this.count('failedWrites');
    }
  }
}
