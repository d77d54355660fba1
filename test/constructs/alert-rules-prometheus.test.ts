/**
 * The alert rules on a real Prometheus (Debian's `prometheus`) scraping the real programs on loopback:
 * the QueueExporter pod and a QueueWorker pod run as Kubernetes would run them (their args and env),
 * Debian's prometheus-redis-exporter in front of a real redis-server, each scraped with the target
 * labels a PodMonitor sets (`namespace`, `pod`). Prometheus loads the synthesized rule groups and
 * evaluates them without error; each alert expression, queried through the HTTP API, is empty while
 * all is well and returns the alert's series once its condition holds (the `for` durations are
 * promtool's part, see alert-rules-promtool.test.ts).
 */
import { spawn, ChildProcess } from 'child_process';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as fs from 'fs';
import Redis from 'ioredis';
import * as os from 'os';
import * as path from 'path';
import { AlertRules, QueueExporter, QueueWorker, RedisConnection, RedisKedaAlert, RedisQueue } from '../../constructs';
import { Env, queueKeys } from '../../runtime/contract';
import { startCli, RunningProcess, waitFor } from '../support/cli';
import { PrometheusServer, ScrapeTarget, startPrometheus } from '../support/prometheus-server';
import { freePort, RedisServer, startRedis } from '../support/redis-server';
import { all, Doc, only, podEnv, synth, testChart } from './helpers';

const PASSWORD = 'alert-rules-password';
const REDIS_EXPORTER = process.env.REDIS_EXPORTER_BINARY ?? 'prometheus-redis-exporter';
const NS = 'test-ns';

let server: RedisServer;
let redis: Redis;
let prometheus: PrometheusServer | undefined;
const processes: RunningProcess[] = [];
let redisExporter: ChildProcess | undefined;
let dir: string;

afterAll(async () => {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.done));
  const exporterChild = redisExporter;
  if (exporterChild && exporterChild.exitCode === null && exporterChild.signalCode === null) {
    const exited = new Promise((r) => exporterChild.once('exit', r));
    exporterChild.kill('SIGTERM');
    await exited;
  }
  await prometheus?.stop();
  redis?.disconnect();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function build(port: number) {
  const chart = testChart(NS);
  const connection = RedisConnection.external(chart, { host: '127.0.0.1', port, password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' } });
  const events = { connection, listName: 'events' };
  // Its StatefulSet stands for the Redis the test runs: only its pod name matters to the rules.
  const redisQueue = new RedisQueue(chart, 'redis', { name: 'redis', exporter: { podMonitor: true } });
  const exporter = new QueueExporter(chart, 'exporter', { name: 'queue-exporter', queues: [events], podMonitor: true });
  const worker = new QueueWorker(chart, 'worker', { name: 'worker', queue: events, podMonitor: true });
  const rules = new AlertRules(chart, 'alerts', { name: 'alerts' });
  rules.addQueue(events, { exporter, consumers: worker, oldestReadyAge: Duration.seconds(60), backlogWindow: Duration.minutes(1) });
  rules.addRedis(redisQueue);
  rules.addQueueExporter(exporter);
  const docs = synth(chart);
  const container = (name: string): Doc => all(docs, 'Deployment').find((d) => d.metadata.name === name)!.spec.template.spec.containers[0];
  const rule = only(docs, 'PrometheusRule');
  const exprOf = (alert: RedisKedaAlert): string => rule.spec.groups.flatMap((g: Doc) => g.rules).find((r: Doc) => r.alert === alert).expr;
  return { rule, exprOf, exporter: container('queue-exporter'), worker: container('worker') };
}

async function runPod(c: Doc, extraEnv: Record<string, string> = {}): Promise<number> {
  const p = startCli(c.args, { env: { ...podEnv(c, { podName: 'pod', secrets: { 'redis-auth/password': PASSWORD } }), [Env.METRICS_PORT]: '0', ...extraEnv } });
  processes.push(p);
  const line = (await p.waitForLog((l) => l.msg === 'health server listening')) as unknown as { port: number };
  return line.port;
}

test('Prometheus evaluates every rule without error; each expression is quiet while all is well and returns the alert series when its condition holds', async () => {
  server = await startRedis({ password: PASSWORD });
  redis = new Redis({ host: '127.0.0.1', port: server.port, password: PASSWORD });
  const { rule, exprOf, exporter, worker } = build(server.port);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-alert-live-'));
  const rulesFile = path.join(dir, 'rules.json');
  fs.writeFileSync(rulesFile, JSON.stringify({ groups: rule.spec.groups }));

  const exporterPort = await runPod(exporter);
  const redisExporterPort = await freePort();
  redisExporter = spawn(REDIS_EXPORTER, [`-redis.addr=redis://127.0.0.1:${server.port}`, `-web.listen-address=127.0.0.1:${redisExporterPort}`], {
    env: { ...process.env, REDIS_PASSWORD: PASSWORD },
    stdio: 'ignore',
  });
  const started = redisExporter;
  await new Promise<void>((resolve, reject) => {
    started.once('spawn', () => resolve());
    started.once('error', (e) => reject(new Error(`${REDIS_EXPORTER} did not start (${e.message}): install Debian's prometheus-redis-exporter`)));
  });
  const targets: ScrapeTarget[] = [
    { job: 'queue-exporter', address: `127.0.0.1:${exporterPort}`, labels: { namespace: NS, pod: 'queue-exporter-7d9f8b6c5d-x2x4z' } },
    { job: 'redis', address: `127.0.0.1:${redisExporterPort}`, labels: { namespace: NS, pod: 'redis-0' } },
  ];
  prometheus = await startPrometheus({ targets, ruleFiles: [rulesFile] });
  await prometheus.waitForTargetsUp(20_000);
  const prom = prometheus;
  const fired = async (alert: RedisKedaAlert) => (await prom.query(exprOf(alert))).map((s) => ({ ...s.metric, value: Number(s.value[1]) }));

  // Every rule loaded and evaluated, with no error.
  await waitFor(
    async () => {
      const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { health: string; lastEvaluation: string }[] }[] } };
      const rules = body.data.groups.flatMap((g) => g.rules);
      return rules.length === 6 && rules.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001'));
    },
    'every rule evaluated with health ok',
    20_000,
    250,
  );
  // Two scrapes of an empty queue and a Redis without maxmemory: nothing to say.
  await new Promise((r) => setTimeout(r, 2500));
  // This chart has no fleet scaler, Celery worker, RedisCluster, Forecaster or ExternalScaler: promtool proves those alerts (alert-rules-promtool.test.ts).
  const notHere: string[] = [
    RedisKedaAlert.FLEET_AT_MAX_REPLICAS,
    RedisKedaAlert.CELERY_DEAD_LETTERING,
    RedisKedaAlert.REDIS_CLUSTER_STATE_NOT_OK,
    RedisKedaAlert.REDIS_CLUSTER_SLOTS_NOT_COVERED,
    RedisKedaAlert.FORECAST_STALE,
    RedisKedaAlert.FORECASTER_DEGRADED,
    RedisKedaAlert.EXTERNAL_SCALER_ERRORS,
  ];
  for (const alert of Object.values(RedisKedaAlert).filter((a) => !notHere.includes(a))) {
    expect({ alert, series: await fired(alert) }).toEqual({ alert, series: [] });
  }

  // A backlog grows with no consumer, its head enqueued 2 minutes ago; one event is dead-lettered.
  const keys = queueKeys('events');
  await redis.lpush(keys.ready, JSON.stringify({ id: 'old', enqueuedAt: Date.now() - 120_000, wait: 0 }));
  await redis.lpush(keys.dead, JSON.stringify({ event: '{}', reason: 'malformed' }));
  for (let i = 0; i < 12; i++) {
    await redis.lpush(keys.ready, JSON.stringify({ id: `e${i}`, enqueuedAt: Date.now(), wait: 0 }));
    await new Promise((r) => setTimeout(r, 250));
  }
  const queueLabels = { namespace: NS, list: 'events' };
  await waitFor(async () => (await fired(RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS)).length > 0, 'the backlog expression', 10_000, 250);
  expect((await fired(RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS)).map(({ value: _v, ...labels }) => labels)).toEqual([queueLabels]);
  const [oldest] = await fired(RedisKedaAlert.QUEUE_OLDEST_EVENT_TOO_OLD);
  expect(oldest).toMatchObject(queueLabels);
  expect(oldest.value).toBeGreaterThanOrEqual(120);
  expect(oldest.value).toBeLessThan(180);
  expect((await fired(RedisKedaAlert.QUEUE_DEAD_LETTERING)).map(({ value: _v, ...labels }) => labels)).toEqual([queueLabels]);

  // A fleet pod comes up (on another list, so the backlog stays): "no consumer runs" no longer holds.
  const workerPort = await runPod(worker, { [Env.LIST_NAME]: 'elsewhere' });
  await prom.reconfigure({
    targets: [...targets, { job: 'worker', address: `127.0.0.1:${workerPort}`, labels: { namespace: NS, pod: 'worker-5c7b9d8f6-abcde' } }],
    ruleFiles: [rulesFile],
  });
  await prom.waitForTargetsUp(20_000);
  await waitFor(async () => (await fired(RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS)).length === 0, 'the backlog expression to clear with a fleet pod up', 10_000, 250);
  expect(await redis.llen(keys.ready)).toBe(13);

  // Redis at 95 % of a maxmemory: the memory expression reports the share.
  const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  await redis.config('SET', 'maxmemory', String(Math.ceil(used / 0.95)));
  await waitFor(async () => (await fired(RedisKedaAlert.REDIS_NEAR_MAX_MEMORY)).length > 0, 'the memory expression', 10_000, 250);
  const [memory] = await fired(RedisKedaAlert.REDIS_NEAR_MAX_MEMORY);
  expect(memory).toMatchObject({ namespace: NS, pod: 'redis-0' });
  expect(memory.value).toBeGreaterThan(0.9);
  expect(memory.value).toBeLessThan(1.01);
  await redis.config('SET', 'maxmemory', '0');

  // Redis goes away: redis_exporter says so, and the queue exporter cannot read it.
  await redis.quit();
  await server.shutdown();
  await waitFor(
    async () => (await fired(RedisKedaAlert.REDIS_DOWN)).length > 0 && (await fired(RedisKedaAlert.QUEUE_EXPORTER_DOWN)).length > 0,
    'the down expressions',
    15_000,
    250,
  );
  expect(await fired(RedisKedaAlert.REDIS_DOWN)).toEqual([{ namespace: NS, pod: 'redis-0', value: 0 }]);
  expect(await fired(RedisKedaAlert.QUEUE_EXPORTER_DOWN)).toEqual([{ namespace: NS, pod: 'queue-exporter-7d9f8b6c5d-x2x4z', value: 0 }]);
}, 90_000);
