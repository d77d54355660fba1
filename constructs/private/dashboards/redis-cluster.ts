/** The dashboard of a RedisCluster: its nodes' redis_exporter sidecars (`--is-cluster`) and its consistency checker. */
import { ConsistencyMetrics } from '../../../runtime/contract';
import { ExternalLabels, RedisExporterMetrics } from '../external-metrics';
import { series, statefulSetPodPattern } from '../promql';
import { DashboardHeader } from './fleets';
import { DashboardSpec, RowSpec } from './model';
import { NAMESPACE, podsOf, sumRate } from './rows';

/** The nodes' StatefulSet and, when deployed, the consistency checker's Deployment. */
export interface RedisClusterInput {
  readonly statefulSet: string;
  readonly checker?: string;
}

/** Every slot a cluster has. */
const SLOTS = 16384;

export function redisClusterDashboard(header: DashboardHeader, input: RedisClusterInput): DashboardSpec {
  const nodes = { ...NAMESPACE, [ExternalLabels.POD]: statefulSetPodPattern(input.statefulSet) };
  const of = (metric: string) => series(metric, nodes);
  const byNode = (metric: string) => `max by (${ExternalLabels.POD}) (${of(metric)})`;
  const pod = `{{${ExternalLabels.POD}}}`;
  const rows: RowSpec[] = [
    {
      title: 'Cluster',
      panels: [
        {
          title: 'Cluster state',
          description: "The worst node's view: 1 while every node says cluster_state:ok, 0 once one says fail (it then refuses commands).",
          unit: 'none',
          stat: true,
          queries: [{ expr: `min(${of(RedisExporterMetrics.CLUSTER_STATE)})`, legend: 'state' }],
        },
        {
          title: 'Nodes up',
          description: 'Nodes whose redis_exporter reached Redis at its last scrape.',
          unit: 'short',
          stat: true,
          queries: [{ expr: `sum(${of(RedisExporterMetrics.UP)})`, legend: 'up' }],
        },
        {
          title: 'Masters serving slots',
          description: 'Masters that serve at least one slot, as the node that sees the fewest says.',
          unit: 'short',
          stat: true,
          queries: [{ expr: `min(${of(RedisExporterMetrics.CLUSTER_SIZE)})`, legend: 'masters' }],
        },
        {
          title: 'Slots not ok',
          description: `Of the ${SLOTS} slots, those the worst node does not see served by a healthy master: unassigned, or on a master in PFAIL or FAIL.`,
          unit: 'short',
          stat: true,
          queries: [{ expr: `${SLOTS} - min(${of(RedisExporterMetrics.CLUSTER_SLOTS_OK)})`, legend: 'slots' }],
        },
        {
          title: 'Slots ok, assigned and failing',
          description: `Slots each node sees served (assigned, ${SLOTS} when all are), served by a reachable master (ok), and on masters in PFAIL or FAIL, by the node that sees the worst.`,
          unit: 'short',
          queries: [
            { expr: `min(${of(RedisExporterMetrics.CLUSTER_SLOTS_ASSIGNED)})`, legend: 'assigned' },
            { expr: `min(${of(RedisExporterMetrics.CLUSTER_SLOTS_OK)})`, legend: 'ok' },
            { expr: `max(${of(RedisExporterMetrics.CLUSTER_SLOTS_PFAIL)})`, legend: 'pfail' },
            { expr: `max(${of(RedisExporterMetrics.CLUSTER_SLOTS_FAIL)})`, legend: 'fail' },
          ],
        },
        {
          title: 'Known nodes by node',
          description: 'Nodes each node knows: every node should know all of them (more while one handshakes, fewer after a FORGET).',
          unit: 'short',
          queries: [{ expr: byNode(RedisExporterMetrics.CLUSTER_KNOWN_NODES), legend: pod }],
        },
      ],
    },
    {
      title: 'Nodes',
      panels: [
        {
          title: 'Memory used of maxmemory by node',
          description: "Each node's memory against its maxmemory (noeviction: at 100 % writes are refused).",
          unit: 'percentunit',
          queries: [{ expr: `${byNode(RedisExporterMetrics.MEMORY_USED_BYTES)} / (${byNode(RedisExporterMetrics.MEMORY_MAX_BYTES)} > 0)`, legend: pod }],
        },
        {
          title: 'Commands per second by node',
          description: 'Commands each node processes: where the load of the slots it serves lands.',
          unit: 'ops',
          queries: [{ expr: sumRate(RedisExporterMetrics.COMMANDS_PROCESSED, nodes, [ExternalLabels.POD]), legend: pod }],
        },
        {
          title: 'Connected clients by node',
          description: 'Clients connected to each node: a cluster client holds one to every master it sends to.',
          unit: 'short',
          queries: [{ expr: byNode(RedisExporterMetrics.CONNECTED_CLIENTS), legend: pod }],
        },
        {
          title: 'Replication offset by node',
          description: "Each node's replication offset: a replica's line should follow its master's closely.",
          unit: 'bytes',
          queries: [{ expr: byNode(RedisExporterMetrics.MASTER_REPL_OFFSET), legend: pod }],
        },
        {
          title: 'Replication links',
          description: 'Replicas whose link to their master is up, and replicas the masters see connected: the two agree in a healthy cluster.',
          unit: 'short',
          queries: [
            { expr: `sum(${of(RedisExporterMetrics.MASTER_LINK_UP)})`, legend: 'replica links up' },
            { expr: `sum(${of(RedisExporterMetrics.CONNECTED_SLAVES)})`, legend: 'replicas connected to masters' },
          ],
        },
      ],
    },
  ];
  if (input.checker !== undefined) {
    const checker = podsOf(input.checker);
    rows.push({
      title: 'Consistency checker',
      panels: [
        {
          title: 'Lost writes',
          description: 'Acknowledged INCRs a later read did not see, since the checker started: must stay 0 through planned operations.',
          unit: 'short',
          stat: true,
          queries: [{ expr: `sum(${series(ConsistencyMetrics.LOST_WRITES, checker)})`, legend: 'lost' }],
        },
        {
          title: 'Not-acknowledged writes',
          description: 'INCRs that failed or timed out but were done: a later read saw them.',
          unit: 'short',
          stat: true,
          queries: [{ expr: `sum(${series(ConsistencyMetrics.NOT_ACKNOWLEDGED_WRITES, checker)})`, legend: 'not acknowledged' }],
        },
        {
          title: 'Longest write gap',
          description: 'The longest time between two successful writes since the checker started (a failover shows here).',
          unit: 's',
          stat: true,
          queries: [{ expr: `max(${series(ConsistencyMetrics.LONGEST_WRITE_GAP, checker)})`, legend: 'gap' }],
        },
        {
          title: 'Checker reads and writes per second',
          description: 'Reads and writes the checker got through, and those that failed (a node down, a slot moving).',
          unit: 'ops',
          queries: [
            { expr: sumRate(ConsistencyMetrics.WRITES, checker), legend: 'writes' },
            { expr: sumRate(ConsistencyMetrics.READS, checker), legend: 'reads' },
            { expr: sumRate(ConsistencyMetrics.FAILED_WRITES, checker), legend: 'failed writes' },
            { expr: sumRate(ConsistencyMetrics.FAILED_READS, checker), legend: 'failed reads' },
          ],
        },
      ],
    });
  }
  return {
    ...header,
    description: `Redis Cluster of StatefulSet ${input.statefulSet} (redis_exporter --is-cluster)${input.checker !== undefined ? ` and its consistency checker ${input.checker}` : ''}.`,
    tags: ['redis-keda', 'redis', 'redis-cluster'],
    rows,
  };
}
