/**
 * The dashboards of the three kinds of consumers: a QueueWorker fleet (loop-mode consumers serving
 * `/metrics`), a ScaledJob starting one Job per event (Job-mode consumers serve no metrics: the queue
 * exporter and kube-state-metrics tell the story), and a Celery worker fleet.
 */
import { CeleryMetrics, MetricLabels, Metrics } from '../../../runtime/contract';
import { ExternalLabels, KubeStateMetrics } from '../external-metrics';
import { jobNamePattern, series } from '../promql';
import { DashboardSpec, RowSpec } from './model';
import { kedaRow, podsOf, quantiles, queueRow, replicasPanel, sumOfObject, sumRate } from './rows';

/** What every dashboard is given besides its workloads. */
export interface DashboardHeader {
  readonly uid: string;
  readonly title: string;
  readonly datasource?: string;
  readonly namespace: string;
}

/** A QueueWorker Deployment, its list, and optionally its ScaledObject and the exporter of its list. */
export interface QueueFleetInput {
  readonly deployment: string;
  readonly list: string;
  readonly scaledObject?: string;
  readonly exporter?: string;
}

export function queueFleetDashboard(header: DashboardHeader, input: QueueFleetInput): DashboardSpec {
  const pods = podsOf(input.deployment);
  const rows: RowSpec[] = [];
  const queue = queueRow({ exporter: input.exporter, consumers: input.deployment, list: input.list });
  if (queue) rows.push(queue);
  rows.push(
    {
      title: 'Throughput',
      panels: [
        {
          title: 'Events per second',
          description: 'Acknowledged (processed), failed handler runs, retries scheduled, leases that expired and were requeued (redelivered), and dead letters by reason.',
          unit: 'ops',
          queries: [
            { expr: sumRate(Metrics.PROCESSED, pods), legend: 'processed' },
            { expr: sumRate(Metrics.FAILED, pods), legend: 'failed' },
            { expr: sumRate(Metrics.RETRIED, pods), legend: 'retried' },
            { expr: sumRate(Metrics.REDELIVERED, pods), legend: 'redelivered' },
            { expr: sumRate(Metrics.DEAD_LETTERED, pods, [MetricLabels.REASON]), legend: `dead-lettered {{${MetricLabels.REASON}}}` },
          ],
        },
        {
          title: 'Events in flight',
          description: 'Events the workers hold right now, over all pods.',
          unit: 'short',
          queries: [{ expr: `sum(${series(Metrics.IN_FLIGHT, pods)})`, legend: 'in flight' }],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'End-to-end latency',
          description: "From the event's enqueuedAt to its acknowledgement: queueing, retries and handling.",
          unit: 's',
          queries: quantiles(Metrics.LATENCY_SECONDS, pods),
        },
        { title: 'Handler time', description: 'Time of one handler run.', unit: 's', queries: quantiles(Metrics.PROCESSING_SECONDS, pods) },
      ],
    },
    { title: 'Scaling', panels: [replicasPanel(input.deployment, input.scaledObject)] },
  );
  if (input.scaledObject !== undefined) rows.push(kedaRow(input.scaledObject));
  return {
    ...header,
    description: `The queue "${input.list}" and the workers of Deployment ${input.deployment}: depth, throughput, latency, replicas.`,
    tags: ['redis-keda', 'queue-fleet'],
    rows,
  };
}

/** A ScaledJob and, optionally, the exporter of the list its Jobs take events from. */
export interface JobPerEventInput {
  readonly scaledJob: string;
  readonly exporter?: string;
  readonly list?: string;
}

export function jobPerEventDashboard(header: DashboardHeader, input: JobPerEventInput): DashboardSpec {
  const jobs = { [ExternalLabels.JOB_NAME]: jobNamePattern(input.scaledJob) };
  const rows: RowSpec[] = [];
  const queue = queueRow({ exporter: input.exporter, list: input.list });
  if (queue) rows.push(queue);
  rows.push(
    {
      title: 'Jobs',
      panels: [
        {
          title: 'Jobs',
          description: 'Pods running, and the Jobs kept in the history (the ScaledJob keeps the last ones) that succeeded or failed (kube-state-metrics).',
          unit: 'short',
          queries: [
            { expr: sumOfObject(KubeStateMetrics.JOB_ACTIVE, jobs), legend: 'running' },
            { expr: sumOfObject(KubeStateMetrics.JOB_SUCCEEDED, jobs), legend: 'succeeded (kept)' },
            { expr: sumOfObject(KubeStateMetrics.JOB_FAILED, jobs), legend: 'failed (kept)' },
          ],
        },
      ],
    },
    kedaRow(input.scaledJob),
  );
  return {
    ...header,
    description: `ScaledJob ${input.scaledJob}: one Job per event${input.list !== undefined ? ` of the list "${input.list}"` : ''}; the queue, the Jobs and KEDA.`,
    tags: ['redis-keda', 'job-per-event'],
    rows,
  };
}

/** A CeleryWorker Deployment and, optionally, its ScaledObject. */
export interface CeleryInput {
  readonly deployment: string;
  readonly queues: readonly string[];
  readonly scaledObject?: string;
}

export function celeryDashboard(header: DashboardHeader, input: CeleryInput): DashboardSpec {
  const pods = podsOf(input.deployment);
  const rows: RowSpec[] = [
    {
      title: 'Tasks',
      panels: [
        {
          title: 'Tasks per second by state',
          description: 'Tasks finished: SUCCESS, FAILURE, REVOKED, and REQUEUED (handed back, e.g. unknown to this worker).',
          unit: 'ops',
          queries: [{ expr: sumRate(CeleryMetrics.TASKS, pods, [MetricLabels.STATE]), legend: `{{${MetricLabels.STATE}}}` }],
        },
        {
          title: 'Tasks per second by task',
          description: 'Tasks finished, by task name.',
          unit: 'ops',
          queries: [{ expr: sumRate(CeleryMetrics.TASKS, pods, [MetricLabels.TASK]), legend: `{{${MetricLabels.TASK}}}` }],
        },
        { title: 'Task time', description: 'Time of one task run, over all tasks.', unit: 's', queries: quantiles(CeleryMetrics.TASK_SECONDS, pods) },
        {
          title: 'Tasks held',
          description: 'Tasks the workers hold: running, or waiting for their eta or countdown.',
          unit: 'short',
          queries: [{ expr: `sum(${series(CeleryMetrics.TASKS_ACTIVE, pods)})`, legend: 'held' }],
        },
        {
          title: 'Restored and dead-lettered',
          description: 'Unacknowledged tasks put back after the visibility timeout (a worker died holding them), and messages moved to the dead-letter list.',
          unit: 'ops',
          queries: [
            { expr: sumRate(CeleryMetrics.RESTORED, pods), legend: 'restored' },
            { expr: sumRate(CeleryMetrics.DEAD_LETTERED, pods), legend: 'dead-lettered' },
          ],
        },
      ],
    },
    { title: 'Scaling', panels: [replicasPanel(input.deployment, input.scaledObject)] },
  ];
  if (input.scaledObject !== undefined) rows.push(kedaRow(input.scaledObject));
  return {
    ...header,
    description: `Celery workers of Deployment ${input.deployment} on the queues ${input.queues.map((q) => JSON.stringify(q)).join(', ')}: tasks, task time, replicas.`,
    tags: ['redis-keda', 'celery'],
    rows,
  };
}
