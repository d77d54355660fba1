/**
 * The proof on the real thing: the programs of a chart as its pods run them (test/support/observed-programs), a real
 * Prometheus scraping them every second with PodMonitor-like labels, a load at a set rate, then what Prometheus
 * answers compared with what Redis and the programs say, and every query of the chart's Dashboards and AlertRules
 * evaluated at a moment under load (test/support/panel-queries). The tests run in order: load, drain, steady
 * state, queries.
 */
import { isDeepStrictEqual } from 'util';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { AlertRules, CeleryProducer, CeleryWorker, Dashboards, KedaScaledJob, KedaScaledObject, Publisher, QueueExporter, QueueWorker, RedisQueue } from '../constructs';
import { RedisListTrigger } from '../constructs/triggers';
import { CeleryKeys, CeleryMetrics, Commands, Env, flag, Metrics, MetricLabels, Options, QUEUE_STATES, queueKeys } from '../runtime/contract';
import { Queue } from '../runtime/queue/queue';
import { KedaMetrics, KubeStateMetrics, RedisExporterMetrics } from '../constructs/private/external-metrics';
import { podPattern, series } from '../constructs/private/promql';
import { runCli, waitFor } from './support/cli';
import { ObservedPrograms, ObservedWorkloads, startObservedPrograms } from './support/observed-programs';
import { sleep } from '../runtime/sleep';
import { coverage, DASHBOARD_LABEL, describeOutcomes, evaluateQueries, extractQueries, metricFamilies } from './support/panel-queries';
import { PromSample } from './support/prometheus-server';
import { pythonSend } from './support/python-celery';
import { exportedFamilies, referenceDocuments } from './support/reference-queries';

const RATE = 50;
const LOAD_SECONDS = 15;
/** Events fed that the handler fails (retried once, then dead-lettered), and events no consumer can parse. */
const FAILING = 3;
const MALFORMED = ['not json', '{"nowait": 1}'];
const ADDS = 20;
/** tasks.add sent by Python Celery's client (`.delay()`), run by our worker too. */
const PYTHON_ADDS = 5;
const FAILS = 2;
const MAX_MEMORY = 64 * 1024 * 1024;

/** The list no consumer takes from (a Job-per-event list whose Jobs do not run here): its depth stays as the test leaves it. */
const BACKLOG = 'backlog';

/**
 * The chart whose dashboards and alert rules are evaluated, every name left to cdk8s as a user may: a RedisQueue
 * with its scraped redis_exporter, a Publisher, a QueueWorker fleet scaled by a KedaScaledObject, a KedaScaledJob
 * on a second list, a QueueExporter of both lists, a CeleryWorker fleet scaled by a KedaScaledObject and its
 * producer; Dashboards of every kind and AlertRules with every alert. The programs run as the pods of these workloads.
 */
function observedChart(): { docs: unknown[]; workloads: ObservedWorkloads; list: string } {
  const chart = new Chart(Testing.app(), 'observed', { namespace: 'observed' });
  const queue = new RedisQueue(chart, 'queue', { exporter: { podMonitor: true } });
  const backlog = { connection: queue.connection, listName: BACKLOG };
  const publisher = new Publisher(chart, 'publisher', { queue, rate: RATE, podMonitor: true });
  const worker = new QueueWorker(chart, 'worker', { queue, podMonitor: true });
  const scaler = new KedaScaledObject(chart, 'worker-scaler', { target: worker.deployment, triggers: worker.scalingTriggers(), maxReplicas: 10 });
  const jobs = new KedaScaledJob(chart, 'jobs', {
    triggers: [new RedisListTrigger(chart, queue.connection, BACKLOG, {}, backlog)],
    container: { args: [Commands.CONSUME, flag(Options.ONCE)], envVariables: { ...queue.connection.envVariables(), [Env.LIST_NAME]: kplus.EnvValue.fromValue(BACKLOG) } },
    maxReplicas: 4,
  });
  const exporter = new QueueExporter(chart, 'exporter', { queues: [queue, backlog], podMonitor: true });
  const celery = new CeleryWorker(chart, 'celery', { connection: queue.connection, podMonitor: true });
  const celeryScaler = new KedaScaledObject(chart, 'celery-scaler', { target: celery.deployment, triggers: celery.scalingTriggers(), maxReplicas: 10 });
  const producer = new CeleryProducer(chart, 'producer', { connection: queue.connection, podMonitor: true });
  const dashboards = new Dashboards(chart, 'dashboards');
  dashboards.addQueueFleet(worker, { scaler, exporter });
  dashboards.addJobPerEvent(jobs, { exporter, queue: backlog });
  dashboards.addCelery(celery, { scaler: celeryScaler });
  dashboards.addRedis({ queue, exporter });
  const rules = new AlertRules(chart, 'alerts');
  rules.addQueue(queue, { exporter, consumers: worker, scaler });
  rules.addQueue(backlog, { exporter, consumers: jobs });
  rules.addRedis(queue);
  rules.addQueueExporter(exporter);
  rules.addCeleryWorker(celery);
  return {
    docs: Testing.synth(chart),
    list: queue.listName,
    workloads: {
      namespace: 'observed',
      publisher: publisher.deployment.name,
      worker: worker.deployment.name,
      celeryWorker: celery.deployment.name,
      celeryProducer: producer.deployment.name,
      queueExporter: exporter.deployment.name,
      redis: queue.statefulSet.name,
    },
  };
}

const chart = observedChart();
let observed: ObservedPrograms;
let started: number;
/** A moment under full load (unix seconds), just before the producers stop: the queries of dashboards and rules are evaluated at it. */
let underLoad: number;

beforeAll(async () => {
  observed = await startObservedPrograms({
    workloads: chart.workloads,
    list: chart.list,
    extraLists: [BACKLOG],
    rate: RATE,
    maxMemoryBytes: MAX_MEMORY,
    maxAttempts: 2,
    backoffSeconds: 1,
  });
  started = Date.now();
}, 90_000);

afterAll(async () => observed?.stop(), 60_000);

/** The samples' values by one label. */
function byLabel(samples: readonly PromSample[], label: string): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [s.metric[label], Number(s.value[1])]));
}

async function scalar(expr: string, time?: number): Promise<number | undefined> {
  const result = await observed.prometheus.query(expr, time);
  if (result.length > 1) throw new Error(`${expr}: ${result.length} samples, expected one: ${JSON.stringify(result)}`);
  return result.length === 0 ? undefined : Number(result[0].value[1]);
}

/** Our pods' series of one workload, as the dashboards and rules select them. */
const of = (metric: string, workload: string, labels: Record<string, string> = {}) =>
  series(metric, { namespace: observed.workloads.namespace, pod: podPattern(workload), ...labels });

/** What Redis holds in each state of `list`, read in one MULTI. */
async function redisDepth(list: string): Promise<Record<string, number>> {
  const keys = queueKeys(list);
  const replies = (await observed.client.multi().llen(keys.ready).zcard(keys.inflight).zcard(keys.delayed).llen(keys.dead).exec()) ?? [];
  return Object.fromEntries(QUEUE_STATES.map((state, i) => [state, Number(replies[i]?.[1])]));
}

describe('the programs under load, through Prometheus', () => {
  let published = 0;
  let celerySent = 0;

  test(`at ${RATE} events/s for ${LOAD_SECONDS} s: published and processed rate over 10 s within 10 % of the set rate; latency histogram filled`, async () => {
    const { client, list, workloads } = observed;
    // Failing and malformed events on the consumed list; the backlog list brought into every state, no consumer on it.
    for (let i = 0; i < FAILING; i++) await client.lpush(list, JSON.stringify({ id: `fail-${i}`, wait: 0, fail: true }));
    for (const raw of MALFORMED) await client.lpush(list, raw);
    expect((await runCli(['publish', '--count', '37', '--batch', '37', '--interval', '0', '--list', BACKLOG, '--redis', observed.redis.url])).code).toBe(0);
    const backlog = new Queue(client, BACKLOG);
    const claims = await backlog.claim(600_000, 3);
    expect((await backlog.retry(claims[0], 'test failure', { backoffSeconds: 600, backoffMaxSeconds: 600 })).outcome).toBe('retried');
    expect(await backlog.deadLetter(claims[1], { reason: 'malformed', error: 'test' })).toBe(true);
    // Celery tasks with known outcomes, beside the producer's users.register.
    expect((await runCli(['celery-send', '--count', String(ADDS), '--task', 'tasks.add', '--args', '[2, 3]', '--redis', observed.redis.url])).code).toBe(0);
    expect((await runCli(['celery-send', '--count', String(FAILS), '--task', 'tasks.fail', '--redis', observed.redis.url])).code).toBe(0);
    expect(await pythonSend({ redisUrl: observed.redis.url }, 'tasks.add', { args: [1, 2], count: PYTHON_ADDS })).toHaveLength(PYTHON_ADDS);

    const publishedRate = `sum(rate(${of(Metrics.PUBLISHED, workloads.publisher)}[10s]))`;
    const processedRate = `sum(rate(${of(Metrics.PROCESSED, workloads.worker)}[10s]))`;
    await sleep(Math.max(0, started + LOAD_SECONDS * 1000 - Date.now()));
    // Both rates over the last 10 s, read at the same instant; under a loaded machine a second or two more to settle.
    const seen: string[] = [];
    let rates: [number | undefined, number | undefined] = [undefined, undefined];
    const within = (value: number | undefined) => value !== undefined && Math.abs(value - RATE) <= RATE * 0.1;
    await waitFor(
      async () => {
        const now = Date.now() / 1000;
        rates = [await scalar(publishedRate, now), await scalar(processedRate, now)];
        seen.push(`${Math.round(now - started / 1000)}s: ${rates.map((r) => r?.toFixed(2)).join(' / ')}`);
        return within(rates[0]) && within(rates[1]);
      },
      'both rates within 10 %',
      15_000,
      1000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; published / processed per second: ${seen.join(', ')}`);
    });
    expect(Math.abs(rates[0]! - RATE)).toBeLessThanOrEqual(RATE * 0.1);
    expect(Math.abs(rates[1]! - RATE)).toBeLessThanOrEqual(RATE * 0.1);
    expect(await scalar(of(Metrics.PUBLISH_TARGET_RATE, workloads.publisher))).toBe(RATE);
    // Two consumers share the work: each has its own series.
    expect(await observed.prometheus.query(`rate(${of(Metrics.PROCESSED, workloads.worker)}[10s]) > 0`)).toHaveLength(2);
    const p99 = await scalar(`histogram_quantile(0.99, sum by (le) (rate(${of(`${Metrics.LATENCY_SECONDS}_bucket`, workloads.worker)}[10s])))`);
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(1);

    // WHEN the producers stop
    underLoad = Date.now() / 1000;
    const publisher = await observed.stopProgram('publisher');
    expect(publisher.code).toBe(0);
    published = Number(publisher.logs.find((l) => l.msg === 'publisher stopped')?.published);
    expect(published).toBeGreaterThanOrEqual(RATE * LOAD_SECONDS * 0.9);
    const producer = await observed.stopProgram('celery-producer');
    expect(producer.code).toBe(0);
    celerySent = producer.stdout.split('\n').filter((line) => line.trim()).length;
    expect(celerySent).toBeGreaterThan(0);
  }, 90_000);

  test('drained: counters exact — processed = events handled = latency observations = published; failures, retries, dead letters; Celery tasks = tasks sent', async () => {
    const { client, list, celeryQueue, workloads } = observed;
    const drained = async () => {
      const depth = await redisDepth(list);
      const celery = (await client.llen(celeryQueue)) + (await client.hlen(CeleryKeys.UNACKED));
      return depth.ready === 0 && depth.inflight === 0 && depth.delayed === 0 && celery === 0;
    };
    await waitFor(drained, `list ${list} and Celery queue ${celeryQueue} drained`, 30_000, 200).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await redisDepth(list))}, celery ${await client.llen(celeryQueue)}`);
    });
    const handled = await client.hgetall(observed.proofKey);
    expect(Object.keys(handled)).toHaveLength(published);
    expect(new Set(Object.values(handled))).toEqual(new Set(['1']));

    const processed = `sum(${of(Metrics.PROCESSED, workloads.worker)})`;
    // Every (task, state) of the registered tasks is served from the start at 0: compare those that counted.
    const celeryTasks = `sum by (${MetricLabels.TASK}, ${MetricLabels.STATE}) (${of(CeleryMetrics.TASKS, workloads.celeryWorker)}) > 0`;
    const expectedTasks = { 'users.register SUCCESS': celerySent, 'tasks.add SUCCESS': ADDS + PYTHON_ADDS, 'tasks.fail FAILURE': FAILS };
    // The last scrape after the drain has them all.
    let last: unknown;
    await waitFor(
      async () => {
        const tasks = await observed.prometheus.query(celeryTasks);
        last = [await scalar(processed), Object.fromEntries(tasks.map((s) => [`${s.metric.task} ${s.metric.state}`, Number(s.value[1])]))];
        return isDeepStrictEqual(last, [published, expectedTasks]);
      },
      'processed and Celery task counters to reach their totals',
      10_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: got ${JSON.stringify(last)}, want ${JSON.stringify([published, expectedTasks])}`);
    });
    expect(await scalar(`sum(${of(`${Metrics.LATENCY_SECONDS}_count`, workloads.worker)})`)).toBe(published);
    expect(await scalar(`sum(${of(`${Metrics.PROCESSING_SECONDS}_count`, workloads.worker)})`)).toBe(published + 2 * FAILING);
    expect(await scalar(`sum(${of(Metrics.FAILED, workloads.worker)})`)).toBe(2 * FAILING);
    expect(await scalar(`sum(${of(Metrics.RETRIED, workloads.worker)})`)).toBe(FAILING);
    expect(byLabel(await observed.prometheus.query(`sum by (${MetricLabels.REASON}) (${of(Metrics.DEAD_LETTERED, workloads.worker)})`), MetricLabels.REASON)).toEqual({
      'handler-failed': FAILING,
      malformed: MALFORMED.length,
      'max-deliveries': 0,
    });
    expect(await scalar(`sum(${of(Metrics.IN_FLIGHT, workloads.worker)})`)).toBe(0);
    expect(await scalar(`sum(${of(`${CeleryMetrics.TASK_SECONDS}_count`, workloads.celeryWorker)})`)).toBe(celerySent + ADDS + PYTHON_ADDS + FAILS);
  }, 60_000);

  test('steady state: the exporter depth by state of each list equals what Redis holds, read before and after the scrape; oldest ready age', async () => {
    const { lists, workloads } = observed;
    const before = Object.fromEntries(await Promise.all(lists.map(async (list) => [list, await redisDepth(list)] as const)));
    const oldestBacklog = JSON.parse((await observed.client.lindex(BACKLOG, -1)) as string) as { enqueuedAt: number };
    const after = Date.now() / 1000;
    const depth = of(Metrics.QUEUE_DEPTH, workloads.queueExporter);
    // A scrape that started after the reads above.
    await waitFor(async () => ((await scalar(`min(timestamp(${depth}))`)) ?? 0) > after, 'a scrape of the exporter after the Redis reads', 5000, 100);
    const samples = await observed.prometheus.query(depth);
    const fromPrometheus: Record<string, Record<string, number>> = {};
    for (const s of samples) (fromPrometheus[s.metric[MetricLabels.LIST]] ??= {})[s.metric[MetricLabels.STATE]] = Number(s.value[1]);
    const again = Object.fromEntries(await Promise.all(lists.map(async (list) => [list, await redisDepth(list)] as const)));
    expect(again).toEqual(before);
    expect(fromPrometheus).toEqual(before);
    expect(before).toEqual({
      [observed.list]: { ready: 0, inflight: 0, delayed: 0, dead: FAILING + MALFORMED.length },
      backlog: { ready: 34, inflight: 1, delayed: 1, dead: 1 },
    });
    expect(await scalar(of(Metrics.QUEUE_EXPORTER_UP, workloads.queueExporter))).toBe(1);
    // The age is read when the exporter is scraped: after the sample's timestamp, within the 1 s scrape timeout.
    const age = of(Metrics.QUEUE_OLDEST_READY_AGE, workloads.queueExporter, { [MetricLabels.LIST]: BACKLOG });
    const at = Date.now() / 1000;
    const [value, scrapedAt] = [await scalar(age, at), await scalar(`timestamp(${age})`, at)];
    const sinceEnqueued = scrapedAt! - oldestBacklog.enqueuedAt / 1000;
    expect(value).toBeGreaterThanOrEqual(sinceEnqueued - 0.001);
    expect(value).toBeLessThanOrEqual(sinceEnqueued + 1);
  }, 30_000);

  test('redis_exporter (Debian prometheus-redis-exporter) on the same Redis: up, memory used below the maxmemory set', async () => {
    const pod = { namespace: observed.workloads.namespace, pod: `${observed.workloads.redis}-0` };
    expect(await scalar(series(RedisExporterMetrics.UP, pod))).toBe(1);
    expect(await scalar(series(RedisExporterMetrics.MEMORY_MAX_BYTES, pod))).toBe(MAX_MEMORY);
    const used = await scalar(series(RedisExporterMetrics.MEMORY_USED_BYTES, pod));
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(MAX_MEMORY);
    expect(await scalar(series(RedisExporterMetrics.CONNECTED_CLIENTS, pod))).toBeGreaterThanOrEqual(6);
  });

  test('reference dashboards and rules built from the contract names: every query parses; every query over exported series returns data', async () => {
    const queries = extractQueries(referenceDocuments(observed.workloads));
    const report = await evaluateQueries(observed.prometheus, queries, { variables: { namespace: observed.workloads.namespace }, time: underLoad });
    const { failures, elsewhere } = coverage(report, exportedFamilies());
    expect(describeOutcomes(failures)).toBe('');
    expect(report.parseErrors).toEqual([]);
    // The reference set has one query over kube-state-metrics: listed, not required.
    expect(elsewhere.map((o) => o.query.source)).toEqual([expect.stringContaining('Replicas ready')]);
    // At that moment the alerts say what happened: dead letters in the last 5 minutes, nothing else.
    const firing = report.outcomes.filter((o) => o.query.kind === 'rule' && o.query.rule !== undefined && !o.query.rule.includes(':') && o.samples > 0);
    expect(firing.map((o) => o.query.rule)).toEqual(['DeadLetters']);
  });

  test("the chart's Dashboards and AlertRules: every query parses; every query over series these programs export returns data", async () => {
    const queries = extractQueries(chart.docs);
    const report = await evaluateQueries(observed.prometheus, queries, { variables: { namespace: observed.workloads.namespace }, time: underLoad });
    const exported = exportedFamilies();
    const { failures, elsewhere } = coverage(report, exported);
    expect(describeOutcomes(failures)).toBe('');
    expect(report.parseErrors).toEqual([]);
    // Every dashboard ConfigMap and the PrometheusRule gave queries.
    const docs = chart.docs as { kind: string; metadata: { name: string; labels?: Record<string, string> } }[];
    const shipping = docs.filter((d) => d.kind === 'PrometheusRule' || (d.kind === 'ConfigMap' && d.metadata.labels?.[DASHBOARD_LABEL] !== undefined));
    expect(shipping).toHaveLength(5);
    expect(new Set(queries.map((q) => q.source.split(' ')[1].split('/')[1]))).toEqual(new Set(shipping.map((d) => d.metadata.name)));
    // The rest read series only a cluster has: kube-state-metrics' and KEDA's, by the names in external-metrics.
    const cluster = new Set<string>([...Object.values(KubeStateMetrics), ...Object.values(KedaMetrics)]);
    const unknown = elsewhere.flatMap((o) => metricFamilies(o, exported).filter((name) => !exported.has(name) && !cluster.has(name)));
    expect(unknown).toEqual([]);
    // Under load the alerts say what happened: dead letters on both lists (the fed failures, the test's own), nothing else.
    const firing = report.outcomes.filter((o) => o.query.kind === 'rule' && o.samples > 0).map((o) => /group "([^"]+)" alert (\w+)/.exec(o.query.source)?.slice(1).join(' '));
    expect(firing).toEqual([`redis-keda.queue.observed/${chart.list} RedisKedaQueueDeadLettering`, `redis-keda.queue.observed/${BACKLOG} RedisKedaQueueDeadLettering`]);
  });
});
