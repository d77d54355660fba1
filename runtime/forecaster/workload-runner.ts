/**
 * One workload's run, each interval: query_range over the window -> the steps not planned yet through the planner,
 * once each, in order -> the record -> Redis, through the lease. Every replica plans (so a standby that takes over
 * has the same planner state); only the lease holder's write lands.
 *
 * Prometheus down or returning nothing new: nothing is written, so the last forecast stays until its TTL ends it
 * (the moment it is stale); the lease is still renewed, a warning logged and `degraded` set.
 */
import { FORECAST_LEASE_INTERVALS, ForecastRecord, ForecastStage, MetricLabels } from '../contract';
import { CapacityPlan, CapacityPlanner, createCapacityPlanner } from '../forecast';
import { errorMessage, Logger } from '../log';
import type { RedisClient } from '../redis/connection';
import { forecastRecord, leadTimeReplicas, pointFromPlan, pointFromSample } from './forecast-record';
import { alignedEnd, firstIndexFrom, gridHistory } from './history';
import { storeWithLease } from './lease-store';
import type { ForecasterMetrics } from './metrics';
import { ModelError } from './model-error';
import type { PrometheusClient } from './prometheus-client';
import type { ForecastWorkload } from './workload-config';

/** A failed stage of a run. */
class StageError extends Error {
  constructor(
    readonly stage: ForecastStage,
    message: string,
  ) {
    super(message);
  }
}

/** What `/workloads` shows of a workload: its last run as this replica saw it. */
export interface WorkloadState {
  readonly name: string;
  readonly query: string;
  leader: boolean;
  /** The lease holder as last seen (this replica's id when leader). */
  holder?: string;
  degraded: boolean;
  lastRunAt?: string;
  /** The last run in which no stage failed. */
  lastSuccessAt?: string;
  /** When this replica last wrote the forecast, and the generatedAt it wrote. */
  lastWriteAt?: string;
  generatedAt?: string;
  /** The newest sample planned from. */
  lastSampleAt?: string;
  /** The last error of each stage that has failed. */
  lastErrors: Partial<Record<ForecastStage, { at: string; message: string }>>;
}

export interface WorkloadRunnerOptions {
  readonly workload: ForecastWorkload;
  readonly prometheus: PrometheusClient;
  /** The client (runs start once it is connected). */
  readonly redis: () => RedisClient;
  /** This replica's lease holder id (the record's `writer`). */
  readonly id: string;
  readonly metrics: ForecasterMetrics;
  readonly log: Logger;
  /** Unix seconds. @default Date.now() / 1000 */
  readonly now?: () => number;
}

/** Longest stretch of planning without giving the event loop a turn. */
const YIELD_AFTER_MS = 50;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export class WorkloadRunner {
  readonly state: WorkloadState;
  private readonly w: ForecastWorkload;
  private readonly log: Logger;
  private readonly now: () => number;
  private planner!: CapacityPlanner;
  private modelError!: ModelError;
  /** The newest step planned, and the plans made at it and one step before it. */
  private lastFed?: number;
  private last?: { t: number; plan: CapacityPlan };
  private beforeLast?: { t: number; plan: CapacityPlan };

  constructor(private readonly options: WorkloadRunnerOptions) {
    this.w = options.workload;
    this.log = options.log.child({ workload: this.w.name });
    this.now = options.now ?? (() => Date.now() / 1000);
    this.state = { name: this.w.name, query: this.w.query, leader: false, degraded: false, lastErrors: {} };
    this.startOver();
  }

  /** A fresh planner: at the start, and when the history since the last step planned has left the window. */
  private startOver(): void {
    this.planner = createCapacityPlanner(this.w.planner);
    this.modelError = new ModelError(this.w.stepSeconds, this.w.horizonSeconds / this.w.stepSeconds);
    this.lastFed = this.last = this.beforeLast = undefined;
  }

  /** Seconds the lease lasts: a few intervals, renewed each. */
  get leaseSeconds(): number {
    return FORECAST_LEASE_INTERVALS * this.w.intervalSeconds;
  }

  /** One interval's run; never throws (each failure is logged and counted by stage). */
  async run(): Promise<void> {
    const now = this.now();
    this.state.lastRunAt = iso(now);
    let failed = false;
    let record: ForecastRecord | undefined;
    try {
      record = await this.plan(now);
      this.setDegraded(false);
    } catch (error) {
      failed = true;
      const stage = error instanceof StageError ? error.stage : 'model';
      this.fail(stage, error);
      if (stage === 'query') {
        this.setDegraded(true);
        this.log.warn('prometheus gave nothing new; keeping the last forecast until it is stale', { error: errorMessage(error) });
      } else this.log.error(`forecast ${stage} failed`, { error: errorMessage(error) });
    }
    if (!(await this.store(record))) failed = true;
    if (!failed) this.state.lastSuccessAt = iso(this.now());
  }

  private fail(stage: ForecastStage, error: unknown): void {
    this.options.metrics.failed(this.w.name, stage);
    this.state.lastErrors[stage] = { at: iso(this.now()), message: errorMessage(error) };
  }

  private setDegraded(degraded: boolean): void {
    if (degraded && !this.state.degraded) this.log.warn('degraded: the forecast in Redis is the last good one');
    if (!degraded && this.state.degraded) this.log.info('no longer degraded');
    this.state.degraded = degraded;
    this.options.metrics.degraded.set({ [MetricLabels.WORKLOAD]: this.w.name }, degraded ? 1 : 0);
  }

  /** Queries and plans the new steps; the record of the newest, or undefined when no step is new yet. */
  private async plan(now: number): Promise<ForecastRecord | undefined> {
    const { w } = this;
    const step = w.stepSeconds;
    const end = alignedEnd(now, step);
    let series;
    try {
      series = await this.options.prometheus.queryRange(w.query, end - w.windowSeconds, end, step);
    } catch (error) {
      throw new StageError('query', errorMessage(error));
    }
    if (series.length > 1) throw new StageError('query', `the query gives ${series.length} series; it must give one (aggregate it, e.g. sum(...))`);
    const grid = gridHistory(series[0]?.timestamps ?? [], series[0]?.values ?? [], step);
    const n = grid.timestamps.length;
    if (n === 0) throw new StageError('query', `the query returned no samples from ${iso(end - w.windowSeconds)} to ${iso(end)}`);
    const newest = grid.timestamps[n - 1];
    if (this.lastFed !== undefined && newest <= this.lastFed) {
      if (end > this.lastFed) throw new StageError('query', `the query returned no sample after ${iso(this.lastFed)} (up to ${iso(end)})`);
      return undefined; // the interval is shorter than the step: no new step yet
    }
    if (this.lastFed !== undefined && grid.timestamps[0] > this.lastFed + step) {
      this.log.warn('the history since the last step planned has left the window; planning from the start again', { lastPlanned: iso(this.lastFed) });
      this.startOver();
    }
    const times = Float64Array.from(grid.timestamps);
    const values = Float64Array.from(grid.values);
    let slice = Date.now();
    for (let j = this.lastFed === undefined ? 0 : firstIndexFrom(grid.timestamps, this.lastFed + step); j < n; j++) {
      const t = grid.timestamps[j];
      // Each step sees the window before it, as a query at that step would.
      const from = firstIndexFrom(grid.timestamps, t - w.windowSeconds);
      let plan: CapacityPlan;
      try {
        plan = this.planner.plan(times.subarray(from, j + 1), values.subarray(from, j + 1));
      } catch (error) {
        throw new StageError('model', errorMessage(error));
      }
      if (grid.observed[j]) this.modelError.actual(t, grid.values[j]);
      this.modelError.made(t, plan.forecast);
      this.beforeLast = this.last?.t === t - step ? this.last : undefined;
      this.last = { t, plan };
      this.lastFed = t;
      // A first run plans days of steps (seconds of CPU): the probes and the other workloads get their turns.
      if (Date.now() - slice > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = Date.now();
      }
    }
    const { plan, t } = this.last as { t: number; plan: CapacityPlan };
    let lastSample = n - 1;
    while (!grid.observed[lastSample]) lastSample--;
    const record = forecastRecord({
      workload: w,
      generatedAt: t,
      now: this.beforeLast ? pointFromPlan(this.beforeLast.plan) : pointFromSample(w, plan, grid.values[n - 1]),
      plan,
      prometheus: this.options.prometheus.url,
      samples: series[0].timestamps.length,
      lastSampleAt: grid.timestamps[lastSample],
      writer: this.options.id,
    });
    this.observe(record, grid.values[n - 1]);
    this.state.lastSampleAt = iso(grid.timestamps[lastSample]);
    return record;
  }

  /** The gauges of a new plan. */
  private observe(record: ForecastRecord, actual: number): void {
    const { metrics } = this.options;
    const workload = { [MetricLabels.WORKLOAD]: this.w.name };
    metrics.predicted.set({ ...workload, [MetricLabels.AT]: 'now' }, record.values[0]);
    metrics.predicted.set({ ...workload, [MetricLabels.AT]: 'lead' }, record.values[Math.floor(record.leadTime / record.step)]);
    metrics.actual.set(workload, actual);
    metrics.desiredReplicas.set(workload, leadTimeReplicas(record));
    for (const h of this.modelError.horizons) {
      const mae = this.modelError.meanAbsoluteError(h);
      if (mae !== undefined) metrics.modelError.set({ ...workload, [MetricLabels.HORIZON]: `${h}s` }, mae);
    }
  }

  /** Renews the lease and, holding it, writes `record` to expire when it is stale. False when a stage failed. */
  private async store(record: ForecastRecord | undefined): Promise<boolean> {
    const { metrics, redis, id } = this.options;
    let write: { json: string; ttlMs: number } | undefined;
    let ok = true;
    if (record) {
      const ttlMs = Date.parse(record.generatedAt) + this.w.staleAfterSeconds * 1000 - this.now() * 1000;
      if (ttlMs > 0) write = { json: JSON.stringify(record), ttlMs };
      else {
        ok = false;
        this.fail('store', new Error(`the forecast of ${record.generatedAt} would be stale on arrival (staleAfterSeconds ${this.w.staleAfterSeconds})`));
      }
    }
    const workload = { [MetricLabels.WORKLOAD]: this.w.name };
    try {
      const result = await storeWithLease(redis(), this.w.name, id, this.leaseSeconds * 1000, write);
      if (result.leader !== this.state.leader || result.holder !== this.state.holder) {
        this.log.info(result.leader ? 'holding the lease: this replica writes the forecast' : 'another replica holds the lease', { holder: result.holder });
      }
      this.state.leader = result.leader;
      this.state.holder = result.holder;
      metrics.leader.set(workload, result.leader ? 1 : 0);
      if (result.leader && write && record) {
        metrics.runs.inc(workload);
        metrics.generatedAt.set(this.w.name, Date.parse(record.generatedAt) / 1000);
        this.state.lastWriteAt = iso(this.now());
        this.state.generatedAt = record.generatedAt;
        this.log.info('forecast written', { generatedAt: record.generatedAt, replicas: leadTimeReplicas(record), ttlMs: Math.round(write.ttlMs) });
      } else if (result.stored) {
        this.readStored(result.stored);
      }
    } catch (error) {
      ok = false;
      this.fail(write ? 'store' : 'lease', error);
      this.log.error(write ? 'writing the forecast failed' : 'renewing the lease failed', { error: errorMessage(error) });
      // Unable to reach Redis, this replica cannot know it still holds the lease.
      this.state.leader = false;
      metrics.leader.set(workload, 0);
    }
    return ok;
  }

  /** The generatedAt of the record another replica wrote (for the age gauge). */
  private readStored(json: string): void {
    try {
      const at = Date.parse((JSON.parse(json) as ForecastRecord).generatedAt);
      if (Number.isFinite(at)) {
        this.options.metrics.generatedAt.set(this.w.name, at / 1000);
        this.state.generatedAt = new Date(at).toISOString();
      }
    } catch {
      // not ours to judge: the scaler refuses what it cannot read
    }
  }
}
