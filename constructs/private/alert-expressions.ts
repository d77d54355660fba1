/**
 * The PromQL of the alert rules, built from the contract's metric names and the pod selection of
 * promql.ts. Each expression works without kube-state-metrics: consumers are counted by `up` of
 * their scraped pods or by the events they hold, and the queue state comes from the queue exporter,
 * whose series exist at zero consumers. Results are aggregated to stable labels (`namespace` and
 * `list`, or `namespace` and `pod`), so an alert's labels do not depend on the scrape's extra labels.
 */
import { Duration } from 'cdk8s';
import { CeleryMetrics, ForecastMetrics, MetricLabels, Metrics, QueueState, ScalerMetrics } from '../../runtime/contract';
import { RedisExporterMetrics } from './external-metrics';

/** The hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16384;
import { podPattern, series, statefulSetPodPattern } from './promql';

/** The target labels of one workload's scraped pods. */
export interface PodSelection {
  readonly namespace: string;
  readonly pod: { readonly regex: string };
}

/** The pods of the Deployment (or ScaledJob) `name` in `namespace`. */
export function workloadPods(namespace: string, name: string): PodSelection {
  return { namespace, pod: podPattern(name) };
}

/** The pods of the StatefulSet `name` in `namespace` (`<name>-<ordinal>`). */
export function statefulSetPods(namespace: string, name: string): PodSelection {
  return { namespace, pod: statefulSetPodPattern(name) };
}

/** A duration as PromQL and Prometheus' rule files write it: `90s`, `5m`, `2h`. */
export function promDuration(d: Duration): string {
  const s = d.toSeconds();
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s}s`;
}

/** One list of the queue exporter. */
export interface ExportedList {
  readonly exporter: PodSelection;
  readonly list: string;
}

/** How "no consumer runs" and "the fleet is at its maximum" are measured for a queue's consumers. */
export type ConsumerMeasure =
  /** A fleet of scraped pods (QueueWorker): how many are up. */
  | { readonly kind: 'pods'; readonly pods: PodSelection }
  /** Consumers that each hold one event while they run (a ScaledJob's Jobs): the events in flight. */
  | { readonly kind: 'inflight' };

/** The labels queue alerts carry: the exporter's namespace and the list. */
const BY_LIST = `namespace, ${MetricLabels.LIST}`;

function depth(q: ExportedList, state: QueueState): string {
  return series(Metrics.QUEUE_DEPTH, { ...q.exporter, [MetricLabels.LIST]: q.list, [MetricLabels.STATE]: state });
}

/** The ready depth rose over `window`. */
function readyGrowing(q: ExportedList, window: Duration): string {
  return `max by (${BY_LIST}) (delta(${depth(q, 'ready')}[${promDuration(window)}])) > 0`;
}

function inflight(q: ExportedList): string {
  return `max by (${BY_LIST}) (${depth(q, 'inflight')})`;
}

function podsUp(pods: PodSelection): string {
  return `${series('up', { ...pods })} == 1`;
}

/** Ready events grew over `window` while no consumer runs. */
export function backlogWithoutConsumers(q: ExportedList, consumers: ConsumerMeasure, window: Duration): string {
  const growing = readyGrowing(q, window);
  return consumers.kind === 'pods' ? `(${growing}) unless on () (${podsUp(consumers.pods)})` : `(${growing}) and on (${BY_LIST}) (${inflight(q)} == 0)`;
}

/** The ready event consumed next is older than `threshold`. */
export function oldestReadyTooOld(q: ExportedList, threshold: Duration): string {
  const age = series(Metrics.QUEUE_OLDEST_READY_AGE, { ...q.exporter, [MetricLabels.LIST]: q.list });
  return `max by (${BY_LIST}) (${age}) > ${threshold.toSeconds()}`;
}

/** The dead-letter list grew over `window`: some event was dead-lettered. */
export function deadLettering(q: ExportedList, window: Duration): string {
  return `max by (${BY_LIST}) (delta(${depth(q, 'dead')}[${promDuration(window)}])) > 0`;
}

/** The consumers run at `maxReplicas` while the ready depth grew over `window`. */
export function atMaxReplicas(q: ExportedList, consumers: ConsumerMeasure, maxReplicas: number, window: Duration): string {
  const growing = readyGrowing(q, window);
  return consumers.kind === 'pods'
    ? `(${growing}) and on () (count(${podsUp(consumers.pods)}) >= ${maxReplicas})`
    : `(${growing}) and on (${BY_LIST}) (${inflight(q)} >= ${maxReplicas})`;
}

/** redis_exporter says Redis is down, or no `redis_up` of these pods is scraped at all. */
export function redisDown(redis: PodSelection): string {
  const up = series(RedisExporterMetrics.UP, { ...redis });
  return `max by (namespace, pod) (${up}) == 0 or absent(${up})`;
}

/** Used memory above `fraction` of `maxmemory`, where a maxmemory is set. */
export function redisNearMaxMemory(redis: PodSelection, fraction: number): string {
  const used = series(RedisExporterMetrics.MEMORY_USED_BYTES, { ...redis });
  const max = series(RedisExporterMetrics.MEMORY_MAX_BYTES, { ...redis });
  return `max by (namespace, pod) (${used} / (${max} > 0)) > ${fraction}`;
}

/** A cluster node reports `cluster_state:fail` (redis_exporter `--is-cluster`). */
export function redisClusterStateNotOk(redis: PodSelection): string {
  return `min by (namespace, pod) (${series(RedisExporterMetrics.CLUSTER_STATE, { ...redis })}) == 0`;
}

/** A cluster node sees fewer than all slots in state ok (uncovered, or served by a failed master). */
export function redisClusterSlotsNotCovered(redis: PodSelection): string {
  return `min by (namespace, pod) (${series(RedisExporterMetrics.CLUSTER_SLOTS_OK, { ...redis })}) < ${CLUSTER_SLOTS}`;
}

/** The queue exporter cannot read Redis, or is not scraped at all. */
export function queueExporterDown(exporter: PodSelection): string {
  const up = series(Metrics.QUEUE_EXPORTER_UP, { ...exporter });
  return `max by (namespace, pod) (${up}) == 0 or absent(${up})`;
}

/** A Celery worker fleet moved messages to a dead-letter list within `window`. */
export function celeryDeadLettering(pods: PodSelection, window: Duration): string {
  return `sum by (namespace) (increase(${series(CeleryMetrics.DEAD_LETTERED, { ...pods })}[${promDuration(window)}])) > 0`;
}

/** The labels forecast alerts carry: the forecaster's namespace and the workload. */
const BY_WORKLOAD = `namespace, ${MetricLabels.WORKLOAD}`;

/**
 * The freshest view any forecaster replica has of the workload's forecast is older than `staleAfterSeconds` (the
 * scaler refuses it), or no replica reports the workload at all.
 */
export function forecastStale(forecaster: PodSelection, workload: string, staleAfterSeconds: number): string {
  const age = series(ForecastMetrics.AGE, { ...forecaster, [MetricLabels.WORKLOAD]: workload });
  return `min by (${BY_WORKLOAD}) (${age}) > ${staleAfterSeconds} or absent(${age})`;
}

/** Some forecaster replica keeps a workload's last forecast because its query failed or returned nothing. */
export function forecasterDegraded(forecaster: PodSelection): string {
  return `max by (${BY_WORKLOAD}) (${series(ForecastMetrics.DEGRADED, { ...forecaster })}) == 1`;
}

/** The external scaler answered calls with errors within `window`, by reason. */
export function scalerErrors(scaler: PodSelection, window: Duration): string {
  return `sum by (namespace, ${MetricLabels.REASON}) (rate(${series(ScalerMetrics.ERRORS, { ...scaler })}[${promDuration(window)}])) > 0`;
}
