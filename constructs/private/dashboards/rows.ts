/**
 * PromQL and rows more than one dashboard shows: the selection of a workload's series, rates and quantiles,
 * the queue's depth from the exporter (or from the consumers' own `/metrics`), replicas from
 * kube-state-metrics and KEDA's view of a scaler. Names come from the contract and external-metrics.ts.
 */
import { MetricLabels, Metrics } from '../../../runtime/contract';
import { ExternalLabels, KEDA_HPA_PREFIX, KedaMetrics, KubeStateMetrics } from '../external-metrics';
import { podPattern, series } from '../promql';
import { NAMESPACE_VARIABLE, PanelSpec, QuerySpec, RowSpec } from './model';

type Labels = Record<string, string | { readonly regex: string }>;

/** Grafana's rate window: at least four scrape intervals, whatever the zoom. */
const RATE_WINDOW = '$__rate_interval';
/** The namespace matcher of every query. */
export const NAMESPACE: Labels = { [ExternalLabels.NAMESPACE]: `$${NAMESPACE_VARIABLE}` };

/** The series of the pods of the Deployment (or ScaledJob) `name`. */
export function podsOf(name: string): Labels {
  return { ...NAMESPACE, [ExternalLabels.POD]: podPattern(name) };
}

/** `sum [by (...)] (rate(metric{labels}[window]))`. */
export function sumRate(metric: string, labels: Labels, by: string[] = []): string {
  return `${sum(by)}(rate(${series(metric, labels)}[${RATE_WINDOW}]))`;
}

function sum(by: string[]): string {
  return `sum${by.length ? ` by (${by.join(', ')}) ` : ''}`;
}

/**
 * A series about a Kubernetes object (kube-state-metrics, KEDA) in the dashboard's namespace, whichever way it
 * was scraped: its own `namespace` label is kept with `honorLabels` (kube-prometheus-stack's kube-state-metrics),
 * else Prometheus renames it `exported_namespace` (KEDA's ServiceMonitor). `wrap` applies to each selector.
 */
function objectSeries(metric: string, labels: Labels, wrap: (selector: string) => string = (s) => s): string {
  const ns = `$${NAMESPACE_VARIABLE}`;
  return `${wrap(series(metric, { [ExternalLabels.EXPORTED_NAMESPACE]: ns, ...labels }))} or ${wrap(series(metric, { [ExternalLabels.NAMESPACE]: ns, ...labels }))}`;
}

/** `max [by (...)] (...)` of an object's series. */
export function maxOfObject(metric: string, labels: Labels, by: string[] = []): string {
  return `max${by.length ? ` by (${by.join(', ')}) ` : ''}(${objectSeries(metric, labels)})`;
}

/** `sum [by (...)] (...)` of an object's series. */
export function sumOfObject(metric: string, labels: Labels, by: string[] = []): string {
  return `${sum(by)}(${objectSeries(metric, labels)})`;
}

/** `sum [by (...)] (rate(...))` of an object's counter. */
function sumRateOfObject(metric: string, labels: Labels, by: string[] = []): string {
  return `${sum(by)}(${objectSeries(metric, labels, (s) => `rate(${s}[${RATE_WINDOW}])`)})`;
}

/** p50, p95 and p99 of a histogram over the selected series. */
export function quantiles(histogram: string, labels: Labels): QuerySpec[] {
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${ExternalLabels.LE}) (rate(${series(`${histogram}_bucket`, labels)}[${RATE_WINDOW}])))`,
    legend: `p${Math.round(q * 100)}`,
  }));
}

/** Where a queue's depth is read: the exporter (with `list`), or else the consumers' own metrics (without). */
export interface DepthSource {
  /** Deployment name of the QueueExporter. */
  readonly exporter?: string;
  /** Deployment name of consumers serving `/metrics`, read when there is no exporter. */
  readonly consumers?: string;
  /** The list, of the exporter's. */
  readonly list?: string;
}

/** Depth by state and the oldest ready event's age; undefined when nothing serves them. */
export function queueRow(source: DepthSource): RowSpec | undefined {
  const panels: PanelSpec[] = [];
  if (source.exporter !== undefined) {
    const labels: Labels = { ...podsOf(source.exporter), ...(source.list !== undefined ? { [MetricLabels.LIST]: source.list } : {}) };
    panels.push(
      {
        title: 'Depth by state',
        description: 'Events ready, leased (in flight), waiting for a retry (delayed) and dead-lettered, as the queue exporter reads them from Redis.',
        unit: 'short',
        queries: [{ expr: `max by (${MetricLabels.STATE}) (${series(Metrics.QUEUE_DEPTH, labels)})`, legend: `{{${MetricLabels.STATE}}}` }],
      },
      {
        title: 'Oldest ready event',
        description: 'Age of the ready event consumed next (0 for an empty list): how far behind the consumers are.',
        unit: 's',
        queries: [{ expr: `max(${series(Metrics.QUEUE_OLDEST_READY_AGE, labels)})`, legend: 'age' }],
      },
    );
  } else if (source.consumers !== undefined) {
    panels.push({
      title: 'Depth by state',
      description: 'Events ready, leased, delayed and dead-lettered, as the consumers read them at each scrape (no series while none runs: add a QueueExporter).',
      unit: 'short',
      queries: [{ expr: `max by (${MetricLabels.STATE}) (${series(Metrics.QUEUE_DEPTH, podsOf(source.consumers))})`, legend: `{{${MetricLabels.STATE}}}` }],
    });
  }
  return panels.length ? { title: 'Queue', panels } : undefined;
}

/** Desired and ready replicas of a Deployment, and, when KEDA scales it, its HPA's desired and maximum. */
export function replicasPanel(deployment: string, scaledObject?: string): PanelSpec {
  const workload: Labels = { [ExternalLabels.DEPLOYMENT]: deployment };
  const queries: QuerySpec[] = [
    { expr: maxOfObject(KubeStateMetrics.DEPLOYMENT_SPEC_REPLICAS, workload), legend: 'desired' },
    { expr: maxOfObject(KubeStateMetrics.DEPLOYMENT_READY_REPLICAS, workload), legend: 'ready' },
  ];
  if (scaledObject !== undefined) {
    const hpa: Labels = { [ExternalLabels.HPA]: `${KEDA_HPA_PREFIX}${scaledObject}` };
    queries.push(
      { expr: maxOfObject(KubeStateMetrics.HPA_DESIRED_REPLICAS, hpa), legend: 'HPA desired' },
      { expr: maxOfObject(KubeStateMetrics.HPA_MAX_REPLICAS, hpa), legend: 'HPA max' },
    );
  }
  return { title: 'Replicas', description: 'Replicas the Deployment wants and has ready (kube-state-metrics).', unit: 'short', queries };
}

/** KEDA's own view of a ScaledObject or ScaledJob: each trigger's metric, whether it is active, errors. */
export function kedaRow(scaler: string): RowSpec {
  const labels: Labels = { [ExternalLabels.SCALED_OBJECT]: scaler };
  const trigger = `{{${ExternalLabels.SCALER}}} {{${ExternalLabels.METRIC}}}`;
  const byTrigger = [ExternalLabels.SCALER, ExternalLabels.METRIC];
  return {
    title: 'KEDA',
    panels: [
      {
        title: 'Scaler metric value',
        description: "The value of each trigger's metric as KEDA last read it.",
        unit: 'short',
        queries: [{ expr: maxOfObject(KedaMetrics.SCALER_METRICS_VALUE, labels, byTrigger), legend: trigger }],
      },
      {
        title: 'Scaler active',
        description: 'Whether each trigger is active (1): an active trigger keeps the workload above zero.',
        unit: 'short',
        queries: [{ expr: maxOfObject(KedaMetrics.SCALER_ACTIVE, labels, byTrigger), legend: trigger }],
      },
      {
        title: 'Scaler errors',
        description: "Errors per second reading the triggers, and of the scaler as a whole; while they last KEDA keeps the replica count (or the fallback's).",
        unit: 'ops',
        queries: [
          { expr: sumRateOfObject(KedaMetrics.SCALER_DETAIL_ERRORS, labels, [ExternalLabels.SCALER]), legend: `{{${ExternalLabels.SCALER}}}` },
          { expr: sumRateOfObject(KedaMetrics.SCALED_OBJECT_ERRORS, labels), legend: 'scaler' },
        ],
      },
    ],
  };
}
