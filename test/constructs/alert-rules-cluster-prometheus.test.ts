/**
 * The RedisCluster alerts on real series: a 3-master cluster of redis-server processes (made by
 * `redis-keda cluster create`), a Debian redis_exporter per node run as the construct's sidecar is (its
 * args, `--is-cluster`, and env, the node's address for `localhost`), each scraped with the target labels
 * the PodMonitor sets (`namespace`, `pod` `cache-<i>`), and Prometheus loading the rule groups
 * AlertRules.addRedis(RedisCluster) synthesizes. Healthy, the cluster alerts are inactive; a master
 * killed with no replica to take over leaves the other nodes in cluster_state:fail with 10923 of the
 * slots ok, and both alerts turn pending on exactly those two pods (their `for:` is promtool's part).
 */
import { spawn, ChildProcess } from 'child_process';
import { AlertRules, RedisCluster, RedisKedaAlert } from '../../constructs';
import { waitFor } from '../support/cli';
import { PrometheusServer, ScrapeTarget, startPrometheus } from '../support/prometheus-server';
import { ClusterNodes, createCluster, startClusterNodes } from '../support/redis-cluster';
import { freePort, stopChild } from '../support/redis-server';
import { Doc, envOf, only, synth, testChart } from './helpers';

const REDIS_EXPORTER = process.env.REDIS_EXPORTER_BINARY ?? 'prometheus-redis-exporter';
const NS = 'test-ns';
const CLUSTER_ALERTS = [RedisKedaAlert.REDIS_CLUSTER_STATE_NOT_OK, RedisKedaAlert.REDIS_CLUSTER_SLOTS_NOT_COVERED];

let cluster: ClusterNodes | undefined;
let prometheus: PrometheusServer | undefined;
const exporters: ChildProcess[] = [];

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(exporters.map((e) => stopChild(e)));
  await cluster?.stop();
});

function build() {
  const chart = testChart(NS);
  const redis = new RedisCluster(chart, 'cache', { name: 'cache', exporter: { podMonitor: true } });
  new AlertRules(chart, 'alerts', { name: 'alerts' }).addRedis(redis);
  const docs = synth(chart);
  const sidecar: Doc = only(docs, 'StatefulSet').spec.template.spec.containers.find((c: Doc) => c.name === 'exporter');
  return { groups: only(docs, 'PrometheusRule').spec.groups as Doc[], sidecar };
}

/** redis_exporter as the sidecar runs, in front of `address` instead of the pod's localhost. */
async function startExporter(sidecar: Doc, address: string): Promise<number> {
  const port = await freePort();
  const env = { ...envOf(sidecar), REDIS_ADDR: `redis://${address}` };
  const child = spawn(REDIS_EXPORTER, [...(sidecar.args as string[]), `-web.listen-address=127.0.0.1:${port}`], { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
  exporters.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (e) => reject(new Error(`${REDIS_EXPORTER} did not start (${e.message}): install Debian's prometheus-redis-exporter`)));
  });
  return port;
}

test('healthy: both cluster alerts inactive; a master killed with no replica: cluster_state 0 and 10923 slots ok on the other two pods, both alerts pending there', async () => {
  cluster = await startClusterNodes({ count: 3 });
  await createCluster(cluster);
  const { groups, sidecar } = build();
  expect(sidecar.args).toEqual(['--is-cluster']);
  const targets: ScrapeTarget[] = [];
  for (const [i, node] of cluster.nodes.entries()) {
    targets.push({ job: 'redis-cluster', address: `127.0.0.1:${await startExporter(sidecar, node.address)}`, labels: { namespace: NS, pod: `cache-${i}` } });
  }
  prometheus = await startPrometheus({ targets, ruleGroups: groups });
  await prometheus.waitForTargetsUp(20_000);
  const prom = prometheus;
  const exprOf = (alert: RedisKedaAlert): string => groups.flatMap((g) => g.rules as Doc[]).find((r) => r.alert === alert)!.expr;
  const matches = async (alert: RedisKedaAlert) =>
    (await prom.query(exprOf(alert))).map((s) => ({ pod: s.metric.pod, value: Number(s.value[1]) })).sort((a, b) => a.pod.localeCompare(b.pod));
  const states = async () =>
    (await prom.query(`ALERTS{alertname=~"${CLUSTER_ALERTS.join('|')}"}`)).map((s) => `${s.metric.alertname} ${s.metric.pod} ${s.metric.alertstate}`).sort();
  const slotsOk = async () => (await prom.query('redis_cluster_slots_ok')).map((s) => `${s.metric.pod} ${s.value[1]}`).sort();

  // Healthy: every node's series are there (the exporter in cluster mode reads CLUSTER INFO), the expressions and the alerts quiet.
  await waitFor(async () => (await slotsOk()).length === 3, 'redis_cluster_slots_ok of the 3 pods', 20_000, 250);
  expect(await slotsOk()).toEqual(['cache-0 16384', 'cache-1 16384', 'cache-2 16384']);
  expect((await prom.query('redis_cluster_state')).map((s) => `${s.metric.pod} ${s.value[1]}`).sort()).toEqual(['cache-0 1', 'cache-1 1', 'cache-2 1']);
  // Two evaluations after the first scrape.
  await new Promise((r) => setTimeout(r, 2500));
  for (const alert of CLUSTER_ALERTS) expect({ alert, series: await matches(alert) }).toEqual({ alert, series: [] });
  expect(await states()).toEqual([]);

  // The master serving 0-5460 dies; no replica takes over, so once the others flag it failed they refuse every command.
  const client = cluster.nodes[0].client();
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  client.disconnect();
  const [, end, [, port]] = ranges.find(([start]) => start === 0)!;
  const victim = cluster.nodes.findIndex((n) => n.port === port);
  expect(end).toBe(5460);
  await cluster.nodes[victim].kill();
  const others = [0, 1, 2].filter((i) => i !== victim).map((i) => `cache-${i}`);
  await waitFor(async () => (await states()).length === 4, 'both cluster alerts on the two other pods', 30_000, 250);
  expect(await states()).toEqual(CLUSTER_ALERTS.flatMap((alert) => others.map((pod) => `${alert} ${pod} pending`)).sort());
  expect(await matches(RedisKedaAlert.REDIS_CLUSTER_STATE_NOT_OK)).toEqual(others.map((pod) => ({ pod, value: 0 })));
  expect(await matches(RedisKedaAlert.REDIS_CLUSTER_SLOTS_NOT_COVERED)).toEqual(others.map((pod) => ({ pod, value: 16384 - 5461 })));
  // The dead node's own exporter says Redis is down: that is RedisDown's part, not these two alerts'.
  expect((await prom.query(exprOf(RedisKedaAlert.REDIS_DOWN))).map((s) => s.metric.pod)).toEqual([`cache-${victim}`]);
}, 90_000);
