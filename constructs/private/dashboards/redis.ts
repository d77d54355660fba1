/** The dashboard of a queue's Redis (its redis_exporter sidecar) and of the queue exporter reading its lists. */
import { MetricLabels, Metrics } from '../../../runtime/contract';
import { ExternalLabels, RedisExporterMetrics } from '../external-metrics';
import { series, statefulSetPodPattern } from '../promql';
import { DashboardSpec, RowSpec } from './model';
import { DashboardHeader } from './fleets';
import { NAMESPACE, podsOf, sumRate } from './rows';

/** The Redis StatefulSet (when it has the exporter sidecar) and the QueueExporter Deployment, either or both. */
export interface RedisInput {
  readonly statefulSet?: string;
  readonly exporter?: string;
}

export function redisDashboard(header: DashboardHeader, input: RedisInput): DashboardSpec {
  const rows: RowSpec[] = [];
  if (input.statefulSet !== undefined) {
    const redis = { ...NAMESPACE, [ExternalLabels.POD]: statefulSetPodPattern(input.statefulSet) };
    rows.push({
      title: 'Redis',
      panels: [
        {
          title: 'Up',
          description: 'Whether redis_exporter reached Redis at its last scrape (1).',
          unit: 'none',
          stat: true,
          queries: [{ expr: `min(${series(RedisExporterMetrics.UP, redis)})`, legend: 'up' }],
        },
        {
          title: 'Clients',
          description: 'Connected clients: consumers, publishers, KEDA and the exporters.',
          unit: 'short',
          stat: true,
          queries: [{ expr: `sum(${series(RedisExporterMetrics.CONNECTED_CLIENTS, redis)})`, legend: 'clients' }],
        },
        {
          title: 'Memory used vs max',
          description: "Memory Redis uses against its maxmemory (noeviction: at the ceiling publishers are refused with 'queue full').",
          unit: 'bytes',
          queries: [
            { expr: `sum(${series(RedisExporterMetrics.MEMORY_USED_BYTES, redis)})`, legend: 'used' },
            { expr: `sum(${series(RedisExporterMetrics.MEMORY_MAX_BYTES, redis)})`, legend: 'maxmemory' },
          ],
        },
        {
          title: 'Commands, evictions and rejected connections',
          description: 'Commands per second, keys evicted (always 0 with noeviction) and connections refused at maxclients.',
          unit: 'ops',
          queries: [
            { expr: sumRate(RedisExporterMetrics.COMMANDS_PROCESSED, redis), legend: 'commands' },
            { expr: sumRate(RedisExporterMetrics.EVICTED_KEYS, redis), legend: 'evicted keys' },
            { expr: sumRate(RedisExporterMetrics.REJECTED_CONNECTIONS, redis), legend: 'rejected connections' },
          ],
        },
      ],
    });
  }
  if (input.exporter !== undefined) {
    const exporter = podsOf(input.exporter);
    const byList = `{{${MetricLabels.LIST}}}`;
    rows.push({
      title: 'Queue exporter',
      panels: [
        {
          title: 'Exporter up',
          description: 'Whether the queue exporter read every list from Redis at its last scrape (1).',
          unit: 'none',
          stat: true,
          queries: [{ expr: `min(${series(Metrics.QUEUE_EXPORTER_UP, exporter)})`, legend: 'up' }],
        },
        {
          title: 'Depth by list and state',
          description: 'Events ready, leased, delayed and dead-lettered, per list.',
          unit: 'short',
          queries: [{ expr: `max by (${MetricLabels.LIST}, ${MetricLabels.STATE}) (${series(Metrics.QUEUE_DEPTH, exporter)})`, legend: `${byList} {{${MetricLabels.STATE}}}` }],
        },
        {
          title: 'Oldest ready event by list',
          description: 'Age of the ready event consumed next, per list.',
          unit: 's',
          queries: [{ expr: `max by (${MetricLabels.LIST}) (${series(Metrics.QUEUE_OLDEST_READY_AGE, exporter)})`, legend: byList }],
        },
      ],
    });
  }
  return {
    ...header,
    description:
      [input.statefulSet && `Redis of StatefulSet ${input.statefulSet} (redis_exporter)`, input.exporter && `the queue exporter ${input.exporter}`].filter(Boolean).join(' and ') +
      '.',
    tags: ['redis-keda', 'redis'],
    rows,
  };
}
