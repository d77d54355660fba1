/** The forecaster's `/metrics` (ForecastMetrics of the contract), by workload. */
import { Counter, Gauge, Registry } from 'prom-client';
import { FORECAST_STAGES, ForecastMetrics, ForecastStage, MetricLabels } from '../contract';

const { WORKLOAD, STAGE, AT, HORIZON } = MetricLabels;

export interface ForecasterMetrics {
  /** Unix seconds of the generatedAt this replica last wrote or read, per workload: the age is computed at each scrape. */
  readonly generatedAt: Map<string, number>;
  readonly predicted: Gauge<typeof WORKLOAD | typeof AT>;
  readonly actual: Gauge<typeof WORKLOAD>;
  readonly desiredReplicas: Gauge<typeof WORKLOAD>;
  readonly modelError: Gauge<typeof WORKLOAD | typeof HORIZON>;
  readonly errors: Counter<typeof WORKLOAD | typeof STAGE>;
  readonly runs: Counter<typeof WORKLOAD>;
  readonly leader: Gauge<typeof WORKLOAD>;
  readonly degraded: Gauge<typeof WORKLOAD>;
  /** Counts a failed stage of a workload's run. */
  failed(workload: string, stage: ForecastStage): void;
}

/** The collectors, with every workload's counters and flags at 0 from the first scrape (rate() sees the first error). */
export function createForecasterMetrics(registry: Registry, workloads: readonly string[], now: () => number = () => Date.now() / 1000): ForecasterMetrics {
  const registers = [registry];
  const generatedAt = new Map<string, number>();
  const metrics: ForecasterMetrics = {
    generatedAt,
    predicted: new Gauge({ name: ForecastMetrics.PREDICTED, help: 'The forecast for now (at="now") and at the lead time (at="lead").', labelNames: [WORKLOAD, AT], registers }),
    actual: new Gauge({ name: ForecastMetrics.ACTUAL, help: "The newest sample of the workload's query.", labelNames: [WORKLOAD], registers }),
    desiredReplicas: new Gauge({
      name: ForecastMetrics.DESIRED_REPLICAS,
      help: 'The largest desired replicas over the lead time of the newest forecast: what the scaler reports.',
      labelNames: [WORKLOAD],
      registers,
    }),
    modelError: new Gauge({
      name: ForecastMetrics.MODEL_ERROR,
      help: 'Mean absolute error over the last hour of the forecasts made `horizon` ahead.',
      labelNames: [WORKLOAD, HORIZON],
      registers,
    }),
    errors: new Counter({ name: ForecastMetrics.ERRORS, help: 'Failed runs by stage: query, model, store, lease.', labelNames: [WORKLOAD, STAGE], registers }),
    runs: new Counter({ name: ForecastMetrics.RUNS, help: 'Forecasts written.', labelNames: [WORKLOAD], registers }),
    leader: new Gauge({ name: ForecastMetrics.LEADER, help: "1 while this replica holds the workload's lease.", labelNames: [WORKLOAD], registers }),
    degraded: new Gauge({
      name: ForecastMetrics.DEGRADED,
      help: '1 while the last query failed or returned nothing new: the forecast in Redis is the last good one until it is stale.',
      labelNames: [WORKLOAD],
      registers,
    }),
    failed: (workload, stage) => metrics.errors.inc({ [WORKLOAD]: workload, [STAGE]: stage }),
  };
  new Gauge({
    name: ForecastMetrics.AGE,
    help: 'Seconds since the generatedAt of the forecast in Redis, as this replica last wrote or read it.',
    labelNames: [WORKLOAD],
    registers,
    collect() {
      this.reset();
      for (const [workload, at] of generatedAt) this.set({ [WORKLOAD]: workload }, Math.max(0, now() - at));
    },
  });
  for (const workload of workloads) {
    for (const stage of FORECAST_STAGES) metrics.errors.inc({ [WORKLOAD]: workload, [STAGE]: stage }, 0);
    metrics.runs.inc({ [WORKLOAD]: workload }, 0);
    metrics.leader.set({ [WORKLOAD]: workload }, 0);
    metrics.degraded.set({ [WORKLOAD]: workload }, 0);
  }
  return metrics;
}
