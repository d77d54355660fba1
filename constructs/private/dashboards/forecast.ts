/**
 * The dashboard of predictive scaling: per workload the forecast against the load it forecasts, the replicas the
 * forecast asks for against those the HPA wants and the Deployment has ready, the forecast's age against its
 * staleness limit, the forecaster's errors by stage, and the shared scaler's calls, errors and latency.
 */
import { ForecastMetrics, MetricLabels, ScalerMetrics } from '../../../runtime/contract';
import { ExternalLabels, KEDA_HPA_PREFIX, KubeStateMetrics } from '../external-metrics';
import { series } from '../promql';
import type { DashboardHeader } from './fleets';
import { DashboardSpec, PanelSpec, QuerySpec, RowSpec } from './model';
import { maxOfObject, podsOf, quantiles, sumRate } from './rows';

/** One workload: its name, and the Deployment and ScaledObject it scales, when known. */
export interface ForecastWorkloadInput {
  readonly name: string;
  readonly staleAfterSeconds: number;
  readonly deployment?: string;
  readonly scaledObject?: string;
}

export interface ForecastInput {
  /** The forecaster's Deployment. */
  readonly forecaster: string;
  /** The ExternalScaler's Deployment. */
  readonly scaler?: string;
  readonly workloads: readonly ForecastWorkloadInput[];
}

export function forecastDashboard(header: DashboardHeader, input: ForecastInput): DashboardSpec {
  const pods = podsOf(input.forecaster);
  const of = (metric: string, workload: string, more: Record<string, string> = {}) => `max(${series(metric, { ...pods, [MetricLabels.WORKLOAD]: workload, ...more })})`;
  const rows: RowSpec[] = input.workloads.map((w) => {
    const replicas: QuerySpec[] = [{ expr: of(ForecastMetrics.DESIRED_REPLICAS, w.name), legend: 'forecast desired' }];
    if (w.scaledObject !== undefined) {
      replicas.push({ expr: maxOfObject(KubeStateMetrics.HPA_DESIRED_REPLICAS, { [ExternalLabels.HPA]: `${KEDA_HPA_PREFIX}${w.scaledObject}` }), legend: 'HPA desired' });
    }
    if (w.deployment !== undefined) {
      replicas.push({ expr: maxOfObject(KubeStateMetrics.DEPLOYMENT_READY_REPLICAS, { [ExternalLabels.DEPLOYMENT]: w.deployment }), legend: 'ready' });
    }
    const panels: PanelSpec[] = [
      {
        title: `${w.name}: forecast vs actual`,
        description: 'The newest sample of the query, the forecast for now, and the forecast at the lead time (what the replicas are sized for).',
        unit: 'short',
        queries: [
          { expr: of(ForecastMetrics.ACTUAL, w.name), legend: 'actual' },
          { expr: of(ForecastMetrics.PREDICTED, w.name, { [MetricLabels.AT]: 'now' }), legend: 'forecast now' },
          { expr: of(ForecastMetrics.PREDICTED, w.name, { [MetricLabels.AT]: 'lead' }), legend: 'forecast at lead time' },
        ],
      },
      {
        title: `${w.name}: desired vs ready replicas`,
        description:
          "The most replicas the forecast wants over the lead time (what the scaler reports), the HPA's desired replicas (the highest of every trigger) and the Deployment's ready ones (kube-state-metrics).",
        unit: 'short',
        queries: replicas,
      },
      {
        title: `${w.name}: forecast age`,
        description: `Seconds since the forecast in Redis was made; above ${w.staleAfterSeconds} s the scaler refuses it and KEDA's fallback applies.`,
        unit: 's',
        queries: [
          { expr: `min(${series(ForecastMetrics.AGE, { ...pods, [MetricLabels.WORKLOAD]: w.name })})`, legend: 'age' },
          { expr: `vector(${w.staleAfterSeconds})`, legend: 'stale after' },
        ],
      },
    ];
    return { title: `Workload ${w.name}`, panels };
  });
  rows.push({
    title: 'Forecaster',
    panels: [
      {
        title: 'Forecaster errors',
        description: 'Failed runs per second by workload and stage (query, model, store, lease); while the query fails the last forecast is kept until it is stale.',
        unit: 'ops',
        queries: [{ expr: sumRate(ForecastMetrics.ERRORS, pods, [MetricLabels.WORKLOAD, MetricLabels.STAGE]), legend: `{{${MetricLabels.WORKLOAD}}} {{${MetricLabels.STAGE}}}` }],
      },
      {
        title: 'Degraded',
        description: 'Workloads whose last query failed or returned nothing (1): the forecast in Redis is the last good one.',
        unit: 'short',
        queries: [{ expr: `max by (${MetricLabels.WORKLOAD}) (${series(ForecastMetrics.DEGRADED, pods)})`, legend: `{{${MetricLabels.WORKLOAD}}}` }],
      },
    ],
  });
  if (input.scaler !== undefined) {
    const scalerPods = podsOf(input.scaler);
    rows.push({
      title: 'External scaler',
      panels: [
        {
          title: 'Scaler calls',
          description: "KEDA's calls per second by method and gRPC status.",
          unit: 'ops',
          queries: [{ expr: sumRate(ScalerMetrics.CALLS, scalerPods, [MetricLabels.METHOD, MetricLabels.CODE]), legend: `{{${MetricLabels.METHOD}}} {{${MetricLabels.CODE}}}` }],
        },
        {
          title: 'Scaler errors',
          description: 'Failed calls per second by method and reason (stale, missing, unreadable, redis, deadline, metadata): each one is a call KEDA answers with its fallback.',
          unit: 'ops',
          queries: [
            { expr: sumRate(ScalerMetrics.ERRORS, scalerPods, [MetricLabels.METHOD, MetricLabels.REASON]), legend: `{{${MetricLabels.METHOD}}} {{${MetricLabels.REASON}}}` },
          ],
        },
        { title: 'Scaler latency', description: 'Time to answer one call, over every method.', unit: 's', queries: quantiles(ScalerMetrics.CALL_SECONDS, scalerPods) },
      ],
    });
  }
  return {
    ...header,
    description: `Forecasts of ${input.workloads.map((w) => w.name).join(', ')} by Deployment ${input.forecaster}: forecast vs actual, replicas, age${input.scaler ? ', and the external scaler' : ''}.`,
    tags: ['redis-keda', 'forecast'],
    rows,
  };
}
