/**
 * The RedisCluster's dashboard and alert rules on a real Prometheus (Debian's) scraping a real cluster: 6
 * redis-server processes in cluster mode joined by `cluster create`, a Debian prometheus-redis-exporter per node
 * run with the sidecar's args and env (`--is-cluster`), and the consistency checker run as its pod runs it; each
 * scraped with the target labels a PodMonitor sets (`namespace`, `pod`), every name left to cdk8s. Every panel
 * query returns data and reads what the nodes say; every rule loads and is quiet on the healthy cluster.
 */
import { ChildProcess, spawn } from 'child_process';
import * as kplus from 'cdk8s-plus-27';
import { AlertRules, Dashboards, RedisCluster } from '../../constructs';
import { Env } from '../../runtime/contract';
import { runCli, RunningProcess, startCli, waitFor } from '../support/cli';
import { deploymentPodName } from '../support/observed-programs';
import { coverage, describeOutcomes, evaluateQueries, extractQueries } from '../support/panel-queries';
import { PrometheusServer, ScrapeTarget, startPrometheus } from '../support/prometheus-server';
import { ClusterNodes, startClusterNodes } from '../support/redis-cluster';
import { freePort } from '../support/redis-server';
import { all, Doc, only, podEnv, synth, testChart } from './helpers';

const NS = 'test-ns';
const PASSWORD = 'cluster-dashboard-password';
const REDIS_EXPORTER = process.env.REDIS_EXPORTER_BINARY ?? 'prometheus-redis-exporter';
const MAX_MEMORY = 64 * 1024 * 1024;

let cluster: ClusterNodes | undefined;
let prometheus: PrometheusServer | undefined;
let checker: RunningProcess | undefined;
const exporters: ChildProcess[] = [];

afterAll(async () => {
  checker?.child.kill('SIGTERM');
  await checker?.done;
  await Promise.all(
    exporters.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      return exited;
    }),
  );
  await prometheus?.stop();
  await cluster?.stop();
}, 60_000);

function build() {
  const chart = testChart(NS);
  const password = { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' };
  const redisCluster = new RedisCluster(chart, 'cluster', { password, exporter: { podMonitor: true }, consistencyChecker: { keys: 50, rate: 100 } });
  new Dashboards(chart, 'dashboards').addRedisCluster(redisCluster);
  new AlertRules(chart, 'alerts').addRedis(redisCluster);
  const docs = synth(chart);
  const sts = only(docs, 'StatefulSet');
  return {
    docs,
    statefulSet: sts.metadata.name as string,
    exporter: sts.spec.template.spec.containers.find((c: Doc) => c.name === 'exporter') as Doc,
    checker: only(docs, 'Deployment') as Doc,
    rules: only(docs, 'PrometheusRule'),
  };
}

test('every panel of the cluster dashboard returns what the nodes say; every rule loads and is quiet on a healthy cluster', async () => {
  const chart = build();
  cluster = await startClusterNodes({ count: 6, password: PASSWORD });
  const created = await runCli(['cluster', 'create'], {
    env: { [Env.CLUSTER_NODES]: cluster.addresses, [Env.CLUSTER_REPLICAS_PER_MASTER]: '1', [Env.REDIS_PASSWORD]: PASSWORD },
    timeoutMs: 90_000,
  });
  expect(created.code).toBe(0);
  // The construct's nodes run with maxmemory (noeviction); these test nodes get it here.
  for (const node of cluster.nodes) {
    const client = node.client();
    await client.config('SET', 'maxmemory', String(MAX_MEMORY));
    client.disconnect();
  }

  // A redis_exporter per node, as the sidecar runs (its args and env; REDIS_ADDR the node instead of localhost).
  const secrets = { 'redis-auth/password': PASSWORD };
  const targets: ScrapeTarget[] = [];
  for (const [i, node] of cluster.nodes.entries()) {
    const port = await freePort();
    const env = { ...podEnv(chart.exporter, { podName: `${chart.statefulSet}-${i}`, secrets }), REDIS_ADDR: `redis://${node.address}` };
    const child = spawn(REDIS_EXPORTER, [...chart.exporter.args, `-web.listen-address=127.0.0.1:${port}`], { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    exporters.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) => reject(new Error(`${REDIS_EXPORTER} did not start (${e.message}): install Debian's prometheus-redis-exporter`)));
    });
    targets.push({ job: 'redis-cluster', address: `127.0.0.1:${port}`, labels: { namespace: NS, pod: `${chart.statefulSet}-${i}` } });
  }

  // The consistency checker as its pod runs it, the pods' DNS names replaced by the local nodes.
  const container = chart.checker.spec.template.spec.containers[0];
  const checkerEnv = { ...podEnv(container, { podName: 'checker', secrets }), [Env.CLUSTER_NODES]: cluster.addresses, [Env.METRICS_PORT]: '0' };
  checker = startCli(container.args, { env: checkerEnv });
  const listening = (await checker.waitForLog((l) => l.msg === 'health server listening', 30_000)) as unknown as { port: number };
  targets.push({ job: 'consistency', address: `127.0.0.1:${listening.port}`, labels: { namespace: NS, pod: deploymentPodName(chart.checker.metadata.name) } });

  prometheus = await startPrometheus({ targets, ruleGroups: chart.rules.spec.groups });
  const prom = prometheus;
  await prom.waitForTargetsUp(30_000);
  // rate() needs two scrapes, and every replica's link must be up again after create.
  const value = async (expr: string) => Number((await prom.query(expr))[0]?.value[1] ?? NaN);
  await waitFor(async () => (await value('min(count_over_time(up[1m]))')) >= 3, 'three scrapes of every target', 30_000, 250);
  await waitFor(async () => (await value('sum(redis_master_link_up)')) === 3, 'every replica link up', 30_000, 250);

  const queries = extractQueries(all(chart.docs, 'ConfigMap').concat(all(chart.docs, 'PrometheusRule')));
  const panels = queries.filter((q) => q.kind === 'panel');
  expect(panels).toHaveLength(22);
  const report = await evaluateQueries(prom, queries, { variables: { namespace: NS } });
  const families = new Set((await prom.query('group by (__name__) ({namespace="test-ns"})')).map((s) => s.metric.__name__));
  const { failures } = coverage(report, families);
  if (failures.length) throw new Error(`queries that failed or matched nothing:\n${describeOutcomes(failures)}`);
  // The alerts: loaded, and none fires on a healthy cluster.
  const rules = report.outcomes.filter((o) => o.query.kind === 'rule');
  expect(rules.map((o) => o.query.rule)).toEqual(chart.rules.spec.groups.flatMap((g: Doc) => g.rules.map((r: Doc) => r.alert)));
  expect(rules.filter((o) => o.samples > 0).map((o) => o.query.source)).toEqual([]);

  // What the panels say, against what the nodes say.
  const at = (panel: string, refId = 'A') => {
    const q = panels.find((p) => p.source.includes(`panel "${panel}" target ${refId}`))!;
    return value(q.expr.replace(/\$namespace/g, NS).replace(/\$__rate_interval/g, '15s'));
  };
  expect(await at('Cluster state')).toBe(1);
  expect(await at('Nodes up')).toBe(6);
  expect(await at('Masters serving slots')).toBe(3);
  expect(await at('Slots not ok')).toBe(0);
  expect(await at('Slots ok, assigned and failing', 'A')).toBe(16384);
  expect(await at('Slots ok, assigned and failing', 'D')).toBe(0);
  expect(await at('Known nodes by node')).toBe(6);
  expect(await at('Replication links', 'A')).toBe(3);
  expect(await at('Replication links', 'B')).toBe(3);
  const memory = await at('Memory used of maxmemory by node');
  expect(memory).toBeGreaterThan(0);
  expect(memory).toBeLessThan(1);
  expect(await at('Lost writes')).toBe(0);
  expect(await at('Checker reads and writes per second', 'A')).toBeGreaterThan(0);
}, 180_000);
