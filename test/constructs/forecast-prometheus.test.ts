/**
 * The forecast dashboard and the forecaster's and scaler's alert rules on a real Prometheus (Debian's) scraping the
 * real programs: a redis-server, `redis-keda demo-app` loaded by `redis-keda loadgen` (the LoadGenerator's
 * business-hours pattern from midnight: a steady 20 requests a second), `redis-keda forecaster` run with the
 * Forecaster's ConfigMap and env against that Prometheus, and `redis-keda scaler` called over gRPC with the
 * ScaledObject's trigger metadata; each scraped with the target labels a PodMonitor sets (`namespace`, `pod`), every
 * name left to cdk8s. Every panel query returns data and reads what the programs say; every rule loads and is quiet
 * while healthy. Then the app stops: the forecaster's query returns nothing, its forecast grows old, and the
 * expressions of RedisKedaForecastStale, RedisKedaForecasterDegraded and RedisKedaExternalScalerErrors return the
 * workload (their `for:` is minutes, so the expressions are asked, not the alerts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import Redis from 'ioredis';
import { AlertRules, Dashboards, DemoApp, ExternalScaler, Forecaster, KedaScaledObject, LoadGenerator, PrometheusTrigger, RedisQueue } from '../../constructs';
import { Env, FORECAST_CONFIG_FILE_NAME } from '../../runtime/contract';
import { RunningProcess, startCli, waitFor } from '../support/cli';
import { storedForecast } from '../support/forecaster';
import { deploymentPodName } from '../support/observed-programs';
import { coverage, describeOutcomes, evaluateQueries, extractQueries } from '../support/panel-queries';
import { PrometheusServer, ScrapeTarget, startPrometheus } from '../support/prometheus-server';
import { freePort, RedisServer, startRedis, stopChild } from '../support/redis-server';
import { connectScaler, failureOf, ScalerClient } from '../support/scaler-client';
import { all, Doc, only, podEnv, synth, testChart } from './helpers';

const NS = 'forecast-ns';
const STALE_AFTER = 12;
const LEAD_TIME = 5;
const TARGET_PER_POD = 5;
/** business-hours at midnight: 20 requests a second until 09:00 of the pattern. */
const LOAD_START = '2026-12-02T00:00:00Z';
const RATE = 20;

let redis: RedisServer | undefined;
let client: Redis | undefined;
let prometheus: PrometheusServer | undefined;
let scalerClient: ScalerClient | undefined;
let stopPolling: (() => void) | undefined;
const processes: RunningProcess[] = [];
let dir: string | undefined;

afterAll(async () => {
  stopPolling?.();
  scalerClient?.close();
  await Promise.all(processes.map((p) => stopChild(p.child, 10_000)));
  await prometheus?.stop();
  await client?.quit().catch(() => undefined);
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

function build() {
  const chart = testChart(NS);
  const redisQueue = new RedisQueue(chart, 'redis', {});
  const forecaster = new Forecaster(chart, 'forecaster', { prometheus: 'http://prometheus-operated.monitoring.svc:9090', redis: redisQueue, podMonitor: true });
  const scaler = new ExternalScaler(chart, 'scaler', { redis: redisQueue, podMonitor: true });
  const app = new DemoApp(chart, 'api', { podMonitor: true });
  new LoadGenerator(chart, 'load', { target: app, pattern: 'business-hours' });
  // Seconds where the chart has minutes: a run every second over a 2-minute window, no seasons (the history is seconds old).
  const workload = forecaster.addWorkload({
    name: 'api',
    query: app.requestRateQuery(Duration.seconds(5)),
    targetPerPod: TARGET_PER_POD,
    maxReplicas: 20,
    leadTime: Duration.seconds(LEAD_TIME),
    staleAfter: Duration.seconds(STALE_AFTER),
    interval: Duration.seconds(1),
    step: Duration.seconds(1),
    window: Duration.minutes(2),
    model: { seasons: 0, shortSeasons: 0, errorWindowSeconds: 30, calibrationWindowSeconds: 60 },
  });
  const scaledObject = new KedaScaledObject(chart, 'api-scaler', {
    target: app.deployment,
    triggers: [
      forecaster.trigger({ workload, scaler }),
      new PrometheusTrigger(chart, 'reactive', { serverAddress: 'http://prometheus-operated.monitoring.svc:9090', query: workload.query, threshold: TARGET_PER_POD }),
    ],
    maxReplicas: 20,
  });
  new Dashboards(chart, 'dashboards').addForecast(forecaster, { scaler, scaledObjects: [scaledObject] });
  const alerts = new AlertRules(chart, 'alerts');
  alerts.addForecaster(forecaster);
  alerts.addExternalScaler(scaler);
  const docs = synth(chart);
  const deployment = (name: string) => all(docs, 'Deployment').find((d) => d.metadata.name === name) as Doc;
  const configMap = all(docs, 'ConfigMap').find((c) => c.data?.[FORECAST_CONFIG_FILE_NAME] !== undefined) as Doc;
  return {
    docs,
    forecaster: deployment(forecaster.deployment.name),
    scaler: deployment(scaler.deployment.name),
    app: deployment(app.deployment.name),
    load: all(docs, 'Deployment').find((d) => d.spec.template.spec.containers[0].args[0] === 'loadgen') as Doc,
    config: configMap.data[FORECAST_CONFIG_FILE_NAME] as string,
    trigger: (only(docs, 'ScaledObject').spec.triggers as Doc[]).find((t) => t.type === 'external') as Doc,
    rules: only(docs, 'PrometheusRule'),
  };
}

test('every panel of the forecast dashboard reads what the forecaster and scaler say; the rules are quiet while healthy and their expressions fire when the forecast goes stale', async () => {
  const chart = build();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-forecast-dashboard-'));
  redis = await startRedis();
  client = new Redis(redis.url, { protocol: 2 });
  const local = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), [Env.METRICS_PORT]: '0' };
  const targets: ScrapeTarget[] = [];
  /** `redis-keda` as a pod of `deployment` runs it (its args and env, the cluster's addresses replaced by loopback ones), scraped as that pod. */
  const startPod = async (deployment: Doc, env: Record<string, string> = {}) => {
    const container = deployment.spec.template.spec.containers[0];
    const pod = deploymentPodName(deployment.metadata.name);
    const running = startCli(container.args, { env: { ...podEnv(container, { podName: pod }), ...local, ...env } });
    processes.push(running);
    const listening = (await running.waitForLog((l) => l.msg === 'health server listening', 30_000)) as unknown as { port: number };
    targets.push({ job: deployment.metadata.name, address: `127.0.0.1:${listening.port}`, labels: { namespace: NS, pod } });
    return running;
  };

  const appPort = await freePort();
  const app = await startPod(chart.app, { [Env.DEMO_APP_PORT]: String(appPort) });
  await startPod(chart.load, { [Env.LOADGEN_TARGET_URL]: `http://127.0.0.1:${appPort}`, [Env.LOADGEN_START]: LOAD_START });
  const scaler = await startPod(chart.scaler, { [Env.SCALER_PORT]: '0' });
  const grpcPort = ((await scaler.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number }).port;
  prometheus = await startPrometheus({ targets, ruleGroups: chart.rules.spec.groups });
  const prom = prometheus;
  await prom.waitForTargetsUp(30_000);

  // The load reached the query's window before the forecaster's first run (so no run finds nothing).
  const value = async (expr: string) => Number((await prom.query(expr))[0]?.value[1] ?? NaN);
  const loadQuery = (JSON.parse(chart.config) as { workloads: { query: string }[] }).workloads[0].query;
  await waitFor(async () => (await value(loadQuery)) > RATE * 0.75, `the load query at about ${RATE}/s`, 30_000, 250);

  // The forecaster with the ConfigMap's file at the path FORECAST_CONFIG names, querying this Prometheus.
  const configFile = path.join(dir, FORECAST_CONFIG_FILE_NAME);
  fs.writeFileSync(configFile, chart.config);
  await startPod(chart.forecaster, { [Env.PROMETHEUS_URL]: prom.url, [Env.FORECAST_CONFIG]: configFile });
  await prom.reconfigure({ targets, ruleGroups: chart.rules.spec.groups });
  await prom.waitForTargetsUp(30_000);
  await waitFor(async () => (await storedForecast(client!, 'api')) !== undefined, 'the first forecast of api in Redis', 30_000, 200);

  // KEDA's calls, with the trigger's metadata (scalerAddress aside).
  scalerClient = connectScaler(`127.0.0.1:${grpcPort}`);
  const { scalerAddress, ...metadata } = chart.trigger.metadata as Record<string, string>;
  expect(scalerAddress).toMatch(/:50051$/);
  const ref = { name: 'api', namespace: NS, scalerMetadata: metadata };
  const spec = await scalerClient.getMetricSpec(ref);
  const metricName = spec.metricSpecs[0].metricName;
  // KEDA polls each ScaledObject: GetMetricSpec, GetMetrics and IsActive, here every half second while the test runs.
  const answers: (number | string)[] = [];
  const polling = setInterval(() => {
    const c = scalerClient!;
    void c
      .getMetricSpec(ref)
      .then(() => c.getMetrics(ref, metricName))
      .then((got) => answers.push(got.metricValues[0].metricValueFloat))
      .then(() => c.isActive(ref))
      .catch((error: { code?: number }) => answers.push(`error ${error.code ?? '?'}`));
  }, 500);
  stopPolling = () => clearInterval(polling);
  await waitFor(() => answers.length >= 3, 'three GetMetrics answers', 15_000, 100);

  // Every series has two scrapes within $__rate_interval (15 s), and the load reached the rate's window.
  await waitFor(async () => (await value(`min(count_over_time(up{namespace="${NS}"}[15s]))`)) >= 3, 'three scrapes of every target', 30_000, 250);
  await waitFor(async () => (await value(`count_over_time(redis_keda_forecast_actual_value{namespace="${NS}"}[15s])`)) >= 3, 'three scrapes of the forecast', 30_000, 250);

  const queries = extractQueries(all(chart.docs, 'ConfigMap').concat(all(chart.docs, 'PrometheusRule')));
  const panels = queries.filter((q) => q.kind === 'panel');
  expect(panels).toHaveLength(15);
  const report = await evaluateQueries(prom, queries, { variables: { namespace: NS } });
  const families = new Set((await prom.query(`group by (__name__) ({namespace="${NS}"})`)).map((s) => s.metric.__name__));
  const { failures, elsewhere } = coverage(report, families);
  if (failures.length) throw new Error(`queries that failed or matched nothing:\n${describeOutcomes(failures)}`);
  // Only kube-state-metrics' HPA and Deployment series are not the programs' own (and the staleness line reads none).
  expect(elsewhere.map((o) => o.query.source.replace(/.* panel /, ''))).toEqual([
    '"api: desired vs ready replicas" target B',
    '"api: desired vs ready replicas" target C',
    '"api: forecast age" target B',
  ]);
  const rules = report.outcomes.filter((o) => o.query.kind === 'rule');
  expect(rules.map((o) => o.query.rule)).toEqual(['RedisKedaForecastStale', 'RedisKedaForecasterDegraded', 'RedisKedaExternalScalerErrors']);
  expect(rules.filter((o) => o.samples > 0).map((o) => o.query.source)).toEqual([]);

  // What the panels say, against what the programs say.
  const query = (panel: string, refId = 'A') => {
    const q = panels.find((p) => p.source.includes(`panel "${panel}" target ${refId}`))!;
    return q.expr.replace(/\$namespace/g, NS).replace(/\$__rate_interval/g, '15s');
  };
  const at = async (panel: string, refId = 'A') => value(query(panel, refId));
  const actual = await at('api: forecast vs actual', 'A');
  expect(actual).toBeGreaterThan(RATE * 0.75);
  expect(actual).toBeLessThan(RATE * 1.25);
  expect(await at('api: forecast vs actual', 'B')).toBeGreaterThan(0);
  expect(await at('api: forecast vs actual', 'C')).toBeGreaterThan(0);
  // While the record is rewritten every second the replicas are in reach of the load; exactly below, once it stands still.
  const desired = await at('api: desired vs ready replicas', 'A');
  expect(desired).toBeGreaterThanOrEqual(Math.floor((RATE * 0.75) / TARGET_PER_POD));
  expect(desired).toBeLessThanOrEqual(20);
  expect(answers.filter((a) => typeof a !== 'number' || a < 1 || a > 20)).toEqual([]);
  const age = await at('api: forecast age', 'A');
  expect(age).toBeGreaterThanOrEqual(0);
  expect(age).toBeLessThan(STALE_AFTER);
  expect(await at('api: forecast age', 'B')).toBe(STALE_AFTER);
  expect(await prom.query(query('Forecaster errors'))).toEqual(
    expect.arrayContaining(['query', 'model', 'store', 'lease'].map((stage) => ({ metric: { workload: 'api', stage }, value: [expect.any(Number), '0'] }))),
  );
  expect(await at('Degraded')).toBe(0);
  const calls = await prom.query(query('Scaler calls'));
  const ok = (method: string) => Number(calls.find((s) => s.metric.method === method && s.metric.code === 'OK')?.value[1] ?? NaN);
  expect(ok('GetMetrics')).toBeGreaterThan(0);
  expect(ok('GetMetricSpec')).toBeGreaterThan(0);
  expect(ok('IsActive')).toBeGreaterThan(0);
  expect(calls.filter((s) => s.metric.code !== 'OK' && Number(s.value[1]) > 0)).toEqual([]);
  const errors = await prom.query(query('Scaler errors'));
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.filter((s) => Number(s.value[1]) !== 0)).toEqual([]);
  expect(await at('Scaler latency', 'C')).toBeGreaterThan(0);

  // The app stops: the query returns nothing, the forecaster keeps the last forecast until it is stale.
  await stopChild(app.child, 10_000);
  const rule = (name: string) => rules.find((o) => o.query.rule === name)!.query.expr;
  await waitFor(async () => (await prom.query(rule('RedisKedaForecasterDegraded'))).length > 0, 'the degraded expression', 30_000, 500);
  expect((await prom.query(rule('RedisKedaForecasterDegraded'))).map((s) => s.metric)).toEqual([{ namespace: NS, workload: 'api' }]);
  // The forecaster now keeps its last record: the panel shows its most replicas over the lead time, and the scaler
  // answers the most over [now, now + lead time] of the same record (points floor(age / step) to floor((age + lead) / step)).
  const record = (await storedForecast(client, 'api'))!;
  const generatedAt = Date.parse(record.generatedAt) / 1000;
  const windowMax = (t: number) => {
    const age = Math.max(0, t - generatedAt);
    return Math.max(...record.desiredReplicas.slice(Math.floor(age / record.step), Math.floor((age + LEAD_TIME) / record.step) + 1));
  };
  expect(await at('api: desired vs ready replicas', 'A')).toBe(windowMax(generatedAt));
  const before = Date.now() / 1000;
  const answer = (await scalerClient.getMetrics(ref, metricName)).metricValues[0].metricValueFloat;
  const after = Date.now() / 1000;
  expect(after - generatedAt).toBeLessThan(STALE_AFTER);
  expect([windowMax(before), windowMax(after)]).toContain(answer);
  expect((await storedForecast(client, 'api'))?.generatedAt).toBe(record.generatedAt);
  await waitFor(async () => (await prom.query(rule('RedisKedaForecastStale'))).length > 0, 'the stale expression', 30_000, 500);
  const stale = await prom.query(rule('RedisKedaForecastStale'));
  expect(stale.map((s) => s.metric)).toEqual([{ namespace: NS, workload: 'api' }]);
  expect(Number(stale[0].value[1])).toBeGreaterThan(STALE_AFTER);
  // KEDA's next call is refused (the key's TTL ended with its freshness), and so is one for a workload nobody forecasts.
  expect((await failureOf(scalerClient.getMetrics(ref, metricName))).code).toMatch(/^(NOT_FOUND|FAILED_PRECONDITION)$/);
  expect((await failureOf(scalerClient.getMetrics({ ...ref, scalerMetadata: { ...metadata, workload: 'nobody' } }))).code).toBe('NOT_FOUND');
  await waitFor(async () => (await prom.query(rule('RedisKedaExternalScalerErrors'))).some((s) => s.metric.reason === 'missing'), 'the scaler errors expression', 15_000, 250);
  const scalerErrors = await prom.query(rule('RedisKedaExternalScalerErrors'));
  expect(scalerErrors.every((s) => s.metric.namespace === NS && ['missing', 'stale'].includes(s.metric.reason))).toBe(true);
}, 120_000);
