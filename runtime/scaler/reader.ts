/**
 * Reads forecasts from Redis (`GET forecast:<workload>`, one key: a single server or a cluster alike). A read is
 * reused for `cacheTtlMs` and shared by the calls that ask for the same workload meanwhile (a forecast changes every
 * 30 s; KEDA and the HPA ask far more often across many workloads). Only parsed forecasts are kept: a missing or
 * unreadable one is asked for again on the next call. Staleness is not the cache's business: the caller checks it
 * on every call, and asks for a fresh read when a kept forecast fails the check.
 */
import { forecastKey } from '../contract';
import type { RedisClient } from '../redis/connection';
import { ScalerError } from './errors';
import { parseForecast, UsableForecast } from './forecast-record';

export interface ForecastReaderOptions {
  /** The connection, undefined until Redis first answered. */
  readonly redis: () => RedisClient | undefined;
  /** 0 reads Redis on every call. */
  readonly cacheTtlMs: number;
  readonly now?: () => number;
}

export interface ReadForecast {
  readonly forecast: UsableForecast;
  /** True when it came from the cache rather than from Redis just now. */
  readonly cached: boolean;
}

interface Entry {
  readonly forecast: UsableForecast;
  readonly readAt: number;
}

/** Workloads kept at most; beyond, expired entries go (callers name workloads, so the map must not grow without end). */
const MAX_ENTRIES = 10_000;

export class ForecastReader {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<UsableForecast>>();
  private readonly now: () => number;

  constructor(private readonly options: ForecastReaderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The workload's forecast from the cache when it is there and young enough, without waiting for anything. */
  kept(workload: string): ReadForecast | undefined {
    const entry = this.entries.get(workload);
    return entry && this.now() - entry.readAt < this.options.cacheTtlMs ? { forecast: entry.forecast, cached: true } : undefined;
  }

  /** The workload's forecast; throws `missing`, `unreadable` or `redis`. */
  async read(workload: string, fresh = false): Promise<ReadForecast> {
    const kept = fresh ? undefined : this.kept(workload);
    if (kept) return kept;
    let read = this.pending.get(workload);
    if (!read) {
      read = this.fetch(workload).finally(() => this.pending.delete(workload));
      this.pending.set(workload, read);
    }
    return { forecast: await read, cached: false };
  }

  /** Whether Redis can be asked now (the readiness probe's answer). */
  ready(): boolean {
    return this.options.redis()?.status === 'ready';
  }

  private prune(now: number): void {
    for (const [workload, entry] of this.entries) if (now - entry.readAt >= this.options.cacheTtlMs) this.entries.delete(workload);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
  }

  private async fetch(workload: string): Promise<UsableForecast> {
    const redis = this.options.redis();
    // Not connected (yet, or any more): say so at once rather than queue the call behind a reconnect.
    if (!redis || redis.status !== 'ready') throw new ScalerError('redis', `Redis is not reachable (connection ${redis?.status ?? 'not made yet'})`);
    const readAt = this.now();
    let text: string | null;
    try {
      text = await redis.get(forecastKey(workload));
    } catch (error) {
      throw new ScalerError('redis', `reading ${forecastKey(workload)} from Redis failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (text === null) {
      this.entries.delete(workload);
      throw new ScalerError('missing', `no forecast for '${workload}' in Redis (key ${forecastKey(workload)})`);
    }
    let forecast: UsableForecast;
    try {
      forecast = parseForecast(text, workload);
    } catch (error) {
      this.entries.delete(workload);
      throw error;
    }
    if (this.options.cacheTtlMs > 0) {
      if (this.entries.size >= MAX_ENTRIES) this.prune(readAt);
      this.entries.set(workload, { forecast, readAt });
    }
    return forecast;
  }
}
