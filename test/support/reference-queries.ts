/**
 * A hand-built dashboard ConfigMap and PrometheusRule over the contract's metric names, shaped as the Dashboards
 * and AlertRules constructs synthesize them: the evaluator's (./panel-queries) fixture against the observed programs
 * (./observed-programs), which proves the evaluator reads, substitutes and classifies what real charts carry.
 */
import { CeleryMetrics, MetricLabels, Metrics } from '../../runtime/contract';
import { KubeStateMetrics, RedisExporterMetrics } from '../../constructs/private/external-metrics';
import { podPattern, series } from '../../constructs/private/promql';
import { DASHBOARD_LABEL } from './panel-queries';
import type { ObservedWorkloads } from './observed-programs';

/** The metric families the observed programs export (ours, redis_exporter's, and Prometheus' own `up`). */
export function exportedFamilies(): Set<string> {
  return new Set(['up', ...Object.values(Metrics), ...Object.values(CeleryMetrics), ...Object.values(RedisExporterMetrics)]);
}

/** One dashboard (in a ConfigMap labelled for Grafana's sidecar) and one PrometheusRule over `workloads`. */
export function referenceDocuments(workloads: ObservedWorkloads): unknown[] {
  const pods = (workload: string) => ({ namespace: '$namespace', pod: podPattern(workload) });
  const ours = (metric: string, workload: string, labels: Record<string, string> = {}) => series(metric, { ...pods(workload), ...labels });
  const redis = { namespace: '$namespace', pod: `${workloads.redis}-0` };
  const rate = (metric: string, workload: string) => `sum(rate(${ours(metric, workload)}[$__rate_interval]))`;
  const quantile = (q: number, metric: string, workload: string) => `histogram_quantile(${q}, sum by (le) (rate(${ours(`${metric}_bucket`, workload)}[$__rate_interval])))`;
  let id = 0;
  const panel = (title: string, ...exprs: string[]) => ({
    id: ++id,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    targets: exprs.map((expr, i) => ({ refId: String.fromCharCode(65 + i), expr, datasource: { type: 'prometheus', uid: '${datasource}' } })),
  });
  const dashboard = {
    title: 'Queue fleet (reference)',
    uid: 'reference-queue-fleet',
    templating: {
      list: [
        { type: 'datasource', name: 'datasource', query: 'prometheus' },
        { type: 'query', name: 'namespace', query: { query: `label_values(${Metrics.QUEUE_DEPTH}, namespace)`, refId: 'v' }, datasource: { uid: '${datasource}' } },
        { type: 'query', name: 'queue', definition: `label_values(${series(Metrics.QUEUE_DEPTH, { namespace: '$namespace' })}, ${MetricLabels.LIST})`, query: '' },
        { type: 'constant', name: 'list', query: 'events' },
      ],
    },
    annotations: { list: [{ name: 'Dead letters', expr: `increase(${ours(Metrics.DEAD_LETTERED, workloads.worker)}[$__interval]) > 0` }] },
    panels: [
      {
        id: ++id,
        type: 'row',
        title: 'Queue',
        collapsed: true,
        panels: [
          panel('Depth by state', `sum by (${MetricLabels.STATE}) (${ours(Metrics.QUEUE_DEPTH, workloads.queueExporter, { [MetricLabels.LIST]: '$list' })})`),
          panel('Oldest ready event', `max(${ours(Metrics.QUEUE_OLDEST_READY_AGE, workloads.queueExporter, { [MetricLabels.LIST]: '${list:regex}' })})`),
        ],
      },
      panel(
        'Throughput',
        rate(Metrics.PUBLISHED, workloads.publisher),
        rate(Metrics.PROCESSED, workloads.worker),
        rate(Metrics.FAILED, workloads.worker),
        rate(Metrics.RETRIED, workloads.worker),
        `sum by (${MetricLabels.REASON}) (rate(${ours(Metrics.DEAD_LETTERED, workloads.worker)}[$__rate_interval]))`,
      ),
      panel('End-to-end latency', ...[0.5, 0.95, 0.99].map((q) => quantile(q, Metrics.LATENCY_SECONDS, workloads.worker))),
      panel('Handler time p95', quantile(0.95, Metrics.PROCESSING_SECONDS, workloads.worker)),
      panel('In flight', `sum(${ours(Metrics.IN_FLIGHT, workloads.worker)})`),
      panel('Celery tasks', `sum by (${MetricLabels.TASK}, ${MetricLabels.STATE}) (increase(${ours(CeleryMetrics.TASKS, workloads.celeryWorker)}[$__range]))`),
      panel('Redis memory', `${series(RedisExporterMetrics.MEMORY_USED_BYTES, redis)} / ${series(RedisExporterMetrics.MEMORY_MAX_BYTES, redis)}`),
      panel('Replicas ready', series(KubeStateMetrics.DEPLOYMENT_READY_REPLICAS, { namespace: '$namespace', deployment: workloads.worker })),
    ],
  };
  const alert = (name: string, expr: string) => ({
    alert: name,
    expr,
    for: '1m',
    labels: { severity: 'warning' },
    annotations: { runbook_url: `docs/runbooks.md#${name.toLowerCase()}` },
  });
  const namespace = workloads.namespace;
  const fixed = (workload: string) => ({ namespace, pod: podPattern(workload) });
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'reference-dashboards', namespace, labels: { [DASHBOARD_LABEL]: '1' } },
      data: { 'queue-fleet.json': JSON.stringify(dashboard) },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-a-dashboard', namespace }, data: { 'x.json': '{"panels": [{"targets": [{"expr": "sum("}]}]}' } },
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'reference-rules', namespace },
      spec: {
        groups: [
          {
            name: 'queue',
            rules: [
              alert('DeadLetters', `sum(rate(${series(Metrics.DEAD_LETTERED, fixed(workloads.worker))}[5m])) > 0`),
              alert('OldestEventTooOld', `max(${series(Metrics.QUEUE_OLDEST_READY_AGE, fixed(workloads.queueExporter))}) > 300`),
              alert(
                'BacklogWithoutConsumers',
                `sum(${series(Metrics.QUEUE_DEPTH, { ...fixed(workloads.queueExporter), [MetricLabels.STATE]: 'ready' })}) > 0 unless on() sum(${series('up', fixed(workloads.worker))}) > 0`,
              ),
              { record: 'queue:processed:rate1m', expr: `sum without (pod, instance) (rate(${series(Metrics.PROCESSED, fixed(workloads.worker))}[1m]))` },
            ],
          },
          {
            name: 'redis',
            rules: [
              alert('RedisDown', `${series(RedisExporterMetrics.UP, { namespace })} == 0`),
              alert(
                'RedisNearMaxMemory',
                `${series(RedisExporterMetrics.MEMORY_USED_BYTES, { namespace })} / ${series(RedisExporterMetrics.MEMORY_MAX_BYTES, { namespace })} > 0.9`,
              ),
            ],
          },
        ],
      },
    },
  ];
}
