import { Duration, Testing } from 'cdk8s';
import * as fs from 'fs';
import * as path from 'path';
import {
  AlertRules,
  CeleryWorker,
  DEFAULT_RUNBOOK_URL,
  ExternalScaler,
  Forecaster,
  KedaScaledJob,
  KedaScaledObject,
  QueueExporter,
  QueueWorker,
  RedisConnection,
  RedisKedaAlert,
  RedisQueue,
} from '../../constructs';
import { VERSION } from '../../runtime/contract';
import { upstreamErrors } from '../manifests/upstream-models';
import { alertChart, NAMESPACE } from './alert-rules-chart';
import { all, Doc, only, synth, testChart } from './helpers';

const RUNBOOKS = path.join(__dirname, '..', '..', 'docs', 'runbooks.md');
const EXPORTER = 'pod=~"queue-exporter-[a-z0-9]+-[a-z0-9]+"';
const WORKERS = 'pod=~"worker-[a-z0-9]+-[a-z0-9]+"';
const runbook = (alert: string) => `https://github.com/cdk8s-redis-keda/cdk8s-redis-keda/blob/v${VERSION}/docs/runbooks.md#${alert.toLowerCase()}`;
const depth = (list: string, state: string) => `redis_keda_queue_depth{namespace="test-ns", ${EXPORTER}, list="${list}", state="${state}"}`;

/** GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces as -. */
function anchors(markdown: string): string[] {
  return [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
    m[1]
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-'),
  );
}

describe('AlertRules', () => {
  test('one PrometheusRule with its labels and a group per queue, Redis and exporter, every document valid upstream', () => {
    const { rule, docs } = alertChart();
    expect(rule.metadata).toEqual({ name: 'redis-keda', namespace: NAMESPACE, labels: { release: 'kps' } });
    expect(rule.spec.groups.map((g: Doc) => g.name)).toEqual([
      'redis-keda.queue.test-ns/events',
      'redis-keda.queue.test-ns/jobs',
      'redis-keda.redis.test-ns/redis',
      'redis-keda.queue-exporter.test-ns/queue-exporter',
      'redis-keda.celery.test-ns/celery-worker',
      'redis-keda.redis.test-ns/rc',
      'redis-keda.forecaster.test-ns/forecaster',
      'redis-keda.external-scaler.test-ns/forecast-scaler',
    ]);
    expect(rule.spec.groups.every((g: Doc) => g.interval === undefined)).toBe(true);
    expect(docs.flatMap((d) => upstreamErrors(d as any).map((e) => `${d.kind} ${d.metadata.name}: ${e}`))).toEqual([]);
  });

  test('the forecaster and scaler alerts: exact expressions (per workload, its own staleAfter), durations, labels and annotations', () => {
    const { rule } = alertChart();
    const group = (name: string) => rule.spec.groups.find((g: Doc) => g.name === name).rules;
    const pods = 'namespace="test-ns", pod=~"forecaster-[a-z0-9]+-[a-z0-9]+"';
    const labels = { namespace: NAMESPACE, deployment: 'forecaster', team: 'queues' };
    const stale = (workload: string, seconds: number, limit: string) => ({
      alert: 'RedisKedaForecastStale',
      expr: `min by (namespace, workload) (redis_keda_forecast_age_seconds{${pods}, workload="${workload}"}) > ${seconds} or absent(redis_keda_forecast_age_seconds{${pods}, workload="${workload}"})`,
      for: '1m',
      labels: { ...labels, workload, severity: 'warning' },
      annotations: {
        summary: `The forecast of ${workload} (test-ns/forecaster) is stale`,
        description: `The forecast of workload ${workload} is older than ${limit} or reported by no replica of Deployment forecaster: the external scaler refuses it, so KEDA's fallback and the reactive trigger scale ${workload} meanwhile.`,
        runbook_url: runbook('RedisKedaForecastStale'),
      },
    });
    expect(group('redis-keda.forecaster.test-ns/forecaster')).toEqual([
      stale('api', 120, '2m'),
      stale('worker', 90, '90s'),
      {
        alert: 'RedisKedaForecasterDegraded',
        expr: `max by (namespace, workload) (redis_keda_forecast_degraded{${pods}}) == 1`,
        for: '5m',
        labels: { ...labels, severity: 'warning' },
        annotations: {
          summary: 'The forecaster test-ns/forecaster cannot read the load of {{ $labels.workload }}',
          description: "Deployment forecaster's query for workload {{ $labels.workload }} has failed or returned nothing for 5m: it keeps the last forecast until it is stale.",
          runbook_url: runbook('RedisKedaForecasterDegraded'),
        },
      },
    ]);
    expect(group('redis-keda.external-scaler.test-ns/forecast-scaler')).toEqual([
      {
        alert: 'RedisKedaExternalScalerErrors',
        expr: 'sum by (namespace, reason) (rate(redis_keda_scaler_errors_total{namespace="test-ns", pod=~"forecast-scaler-[a-z0-9]+-[a-z0-9]+"}[5m])) > 0',
        for: '2m',
        labels: { namespace: NAMESPACE, deployment: 'forecast-scaler', team: 'queues', severity: 'warning' },
        annotations: {
          summary: 'The external scaler test-ns/forecast-scaler answers KEDA with errors ({{ $labels.reason }})',
          description: 'Deployment forecast-scaler failed calls for reason {{ $labels.reason }} over the last 5m: KEDA applies the fallback of the ScaledObjects concerned.',
          runbook_url: runbook('RedisKedaExternalScalerErrors'),
        },
      },
    ]);
  });

  test('a forecaster or scaler without a PodMonitor, or a forecaster without workloads, is rejected', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', {});
    const rules = new AlertRules(chart, 'alerts');
    const forecaster = new Forecaster(chart, 'forecaster', { prometheus: 'http://prometheus:9090', redis: queue });
    expect(() => rules.addForecaster(forecaster)).toThrow("test/alerts: 'forecaster' (\"test/forecaster\") must have a PodMonitor ('podMonitor'): the alerts read its series");
    const empty = new Forecaster(chart, 'empty', { prometheus: 'http://prometheus:9090', redis: queue, podMonitor: true });
    expect(() => rules.addForecaster(empty)).toThrow('test/alerts: \'forecaster\' ("test/empty") must have a workload (addWorkload()) before its alerts are added');
    const scaler = new ExternalScaler(chart, 'scaler', { redis: queue });
    expect(() => rules.addExternalScaler(scaler)).toThrow("test/alerts: 'scaler' (\"test/scaler\") must have a PodMonitor ('podMonitor'): the alert reads its series");
  });

  test('the queue alerts of a QueueWorker fleet: exact expressions, durations, labels and annotations', () => {
    const { rule } = alertChart();
    const labels = { namespace: NAMESPACE, list: 'events', team: 'queues' };
    const growing = `max by (namespace, list) (delta(${depth('events', 'ready')}[5m])) > 0`;
    expect(rule.spec.groups[0].rules).toEqual([
      {
        alert: 'RedisKedaQueueBacklogWithoutConsumers',
        expr: `(${growing}) unless on () (up{namespace="test-ns", ${WORKERS}} == 1)`,
        for: '5m',
        labels: { ...labels, severity: 'critical' },
        annotations: {
          summary: 'Events pile up on test-ns/events and no consumer runs',
          description: 'The ready list events grew over 5m while no pod of Deployment worker was up: nothing consumes it. KEDA should have started consumers.',
          runbook_url: runbook('RedisKedaQueueBacklogWithoutConsumers'),
        },
      },
      {
        alert: 'RedisKedaQueueOldestEventTooOld',
        expr: `max by (namespace, list) (redis_keda_queue_oldest_ready_age_seconds{namespace="test-ns", ${EXPORTER}, list="events"}) > 300`,
        for: '1m',
        labels: { ...labels, severity: 'warning' },
        annotations: {
          summary: 'The oldest ready event on test-ns/events is older than 5m',
          description: 'The ready event consumed next on events was enqueued {{ $value | humanizeDuration }} ago (threshold 5m).',
          runbook_url: runbook('RedisKedaQueueOldestEventTooOld'),
        },
      },
      {
        alert: 'RedisKedaQueueDeadLettering',
        expr: `max by (namespace, list) (delta(${depth('events', 'dead')}[5m])) > 0`,
        labels: { ...labels, severity: 'warning' },
        annotations: {
          summary: 'Events of test-ns/events are being dead-lettered',
          description: 'The dead-letter list of events grew over the last 5m: events failed or were redelivered too often and wait for a person.',
          runbook_url: runbook('RedisKedaQueueDeadLettering'),
        },
      },
      {
        alert: 'RedisKedaFleetAtMaxReplicas',
        expr: `(${growing}) and on () (count(up{namespace="test-ns", ${WORKERS}} == 1) >= 3)`,
        for: '5m',
        labels: { ...labels, severity: 'warning' },
        annotations: {
          summary: 'The consumers of test-ns/events run at maxReplicas (3) and the backlog still grows',
          description: "The ready list events grew over 5m while its consumers ran at the scaler's maxReplicas (3): they cannot keep up.",
          runbook_url: runbook('RedisKedaFleetAtMaxReplicas'),
        },
      },
    ]);
  });

  test('the queue alerts of a KedaScaledJob count its Jobs by the events in flight (they are not scraped)', () => {
    const { rule } = alertChart();
    const [backlog, , , atMax] = rule.spec.groups[1].rules;
    const growing = `max by (namespace, list) (delta(${depth('jobs', 'ready')}[5m])) > 0`;
    const inflight = `max by (namespace, list) (${depth('jobs', 'inflight')})`;
    expect(backlog.expr).toBe(`(${growing}) and on (namespace, list) (${inflight} == 0)`);
    expect(backlog.annotations.description).toBe(
      'The ready list jobs grew over 5m while no Job of ScaledJob consumer held an event: nothing consumes it. KEDA should have started consumers.',
    );
    expect(atMax.expr).toBe(`(${growing}) and on (namespace, list) (${inflight} >= 4)`);
    expect(atMax.labels).toEqual({ namespace: NAMESPACE, list: 'jobs', team: 'queues', severity: 'warning' });
    expect(rule.spec.groups[1].rules.map((r: Doc) => r.alert)).toEqual([
      RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS,
      RedisKedaAlert.QUEUE_OLDEST_EVENT_TOO_OLD,
      RedisKedaAlert.QUEUE_DEAD_LETTERING,
      RedisKedaAlert.FLEET_AT_MAX_REPLICAS,
    ]);
  });

  test('the Redis and queue-exporter alerts: down (or not scraped at all) and near maxmemory only where one is set', () => {
    const { rule } = alertChart();
    const redis = 'namespace="test-ns", pod=~"redis-[0-9]+"';
    expect(rule.spec.groups[2].rules).toEqual([
      {
        alert: 'RedisKedaRedisDown',
        expr: `max by (namespace, pod) (redis_up{${redis}}) == 0 or absent(redis_up{${redis}})`,
        for: '2m',
        labels: { namespace: NAMESPACE, statefulset: 'redis', team: 'queues', severity: 'critical' },
        annotations: {
          summary: 'Redis test-ns/redis is down',
          description: "redis_exporter of StatefulSet redis reports Redis down, or is not scraped at all: publishers, consumers and KEDA's triggers on this queue fail.",
          runbook_url: runbook('RedisKedaRedisDown'),
        },
      },
      {
        alert: 'RedisKedaRedisNearMaxMemory',
        expr: `max by (namespace, pod) (redis_memory_used_bytes{${redis}} / (redis_memory_max_bytes{${redis}} > 0)) > 0.9`,
        for: '5m',
        labels: { namespace: NAMESPACE, statefulset: 'redis', team: 'queues', severity: 'warning' },
        annotations: {
          summary: 'Redis test-ns/redis uses more than 90% of its maxmemory',
          description:
            'Redis of StatefulSet redis uses {{ $value | humanizePercentage }} of its maxmemory (384Mi); at maxmemory it refuses new events (publishers fail with "queue full").',
          runbook_url: runbook('RedisKedaRedisNearMaxMemory'),
        },
      },
    ]);
    const up = `redis_keda_queue_exporter_up{namespace="test-ns", ${EXPORTER}}`;
    expect(rule.spec.groups[3].rules).toEqual([
      {
        alert: 'RedisKedaQueueExporterDown',
        expr: `max by (namespace, pod) (${up}) == 0 or absent(${up})`,
        for: '2m',
        labels: { namespace: NAMESPACE, deployment: 'queue-exporter', team: 'queues', severity: 'warning' },
        annotations: {
          summary: 'The queue exporter test-ns/queue-exporter is down',
          description:
            'The queue exporter (Deployment queue-exporter, lists events, jobs) cannot read Redis or is not scraped: queue alerts and Prometheus-triggered scaling on its series are blind.',
          runbook_url: runbook('RedisKedaQueueExporterDown'),
        },
      },
    ]);
  });

  test('the Celery alert: messages dead-lettered by the fleet, from its own counter', () => {
    const { rule } = alertChart();
    expect(rule.spec.groups[4].rules).toEqual([
      {
        alert: 'RedisKedaCeleryDeadLettering',
        expr: 'sum by (namespace) (increase(redis_keda_celery_dead_lettered_total{namespace="test-ns", pod=~"celery-worker-[a-z0-9]+-[a-z0-9]+"}[5m])) > 0',
        labels: { namespace: NAMESPACE, deployment: 'celery-worker', team: 'queues', severity: 'warning' },
        annotations: {
          summary: 'The Celery workers test-ns/celery-worker dead-letter messages',
          description: 'Workers of Deployment celery-worker moved malformed messages (not JSON, bad base64, no task name or id) to <queue>:dead over the last 5m.',
          runbook_url: runbook('RedisKedaCeleryDeadLettering'),
        },
      },
    ]);
  });

  test('without names, every expression selects the pods of the names cdk8s generated', () => {
    const { rule, names } = alertChart(false);
    expect(names.worker).toMatch(/^test-worker-deployment-[0-9a-f]{8}$/);
    const exprs = rule.spec.groups.flatMap((g: Doc) => g.rules.map((r: Doc) => r.expr as string));
    const backlog = rule.spec.groups[0].rules[0];
    expect(backlog.expr).toContain(`pod=~"${names.exporter}-[a-z0-9]+-[a-z0-9]+"`);
    expect(backlog.expr).toContain(`up{namespace="test-ns", pod=~"${names.worker}-[a-z0-9]+-[a-z0-9]+"}`);
    expect(rule.spec.groups[2].rules[0].expr).toContain(`pod=~"${names.redis}-[0-9]+"`);
    expect(rule.spec.groups[2].rules[0].labels.statefulset).toBe(names.redis);
    expect(rule.spec.groups[3].rules[0].labels.deployment).toBe(names.exporter);
    expect(rule.spec.groups[4].rules[0].expr).toContain(`pod=~"${names.celery}-[a-z0-9]+-[a-z0-9]+"`);
    expect(rule.spec.groups[1].rules[0].annotations.description).toContain(`ScaledJob ${names.consumer} `);
    expect(exprs.filter((e: string) => e.includes('queue-exporter') || e.includes('"worker-') || e.includes('"redis-') || e.includes('celery-worker'))).toEqual([]);
    expect(rule.metadata.name).toMatch(/^test-alerts-/);
  });

  test('every runbook_url points at an entry of docs/runbooks.md; every alert has exactly one entry and every entry is an alert', () => {
    const markdown = fs.readFileSync(RUNBOOKS, 'utf8');
    const entries = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect([...entries].sort()).toEqual(Object.values(RedisKedaAlert).sort());
    const { rule } = alertChart();
    const slugs = anchors(markdown);
    const urls: string[] = rule.spec.groups.flatMap((g: Doc) => g.rules.map((r: Doc) => r.annotations.runbook_url));
    expect(new Set(rule.spec.groups.flatMap((g: Doc) => g.rules.map((r: Doc) => r.alert)))).toEqual(new Set(Object.values(RedisKedaAlert)));
    for (const url of urls) {
      expect(url.startsWith(`${DEFAULT_RUNBOOK_URL}#`)).toBe(true);
      expect(slugs).toContain(url.slice(url.indexOf('#') + 1));
    }
    // The page's own links between entries resolve too.
    const links = [...markdown.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !slugs.includes(l))).toEqual([]);
  });

  test('runbookUrl, alertLabels and interval are applied to every rule', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { exporter: { podMonitor: true } });
    const rules = new AlertRules(chart, 'alerts', { runbookUrl: 'https://wiki.example.com/ops/runbooks', alertLabels: { team: 'a', tier: 'b' }, interval: Duration.seconds(30) });
    rules.addRedis(queue, { memoryFraction: 0.75 });
    const group = only(synth(chart), 'PrometheusRule').spec.groups[0];
    expect(group.interval).toBe('30s');
    expect(group.rules.map((r: Doc) => r.annotations.runbook_url)).toEqual([
      'https://wiki.example.com/ops/runbooks#rediskedaredisdown',
      'https://wiki.example.com/ops/runbooks#rediskedaredisnearmaxmemory',
    ]);
    expect(group.rules[1].labels).toEqual({ team: 'a', tier: 'b', namespace: 'test-ns', statefulset: expect.any(String), severity: 'warning' });
    expect(group.rules[1].expr).toMatch(/ > 0\.75$/);
    expect(group.rules[1].annotations.summary).toMatch(/uses more than 75% of its maxmemory$/);
    expect(rules.runbookUrl).toBe('https://wiki.example.com/ops/runbooks');
  });

  test('a rule without rules fails at synth, saying what to add', () => {
    const chart = testChart();
    new AlertRules(chart, 'alerts');
    expect(() => Testing.synth(chart)).toThrow(/test\/alerts: has no rules; add some with addQueue\(\), addRedis\(\), addQueueExporter\(\) or addCeleryWorker\(\)/);
  });

  describe('rejects invalid props before any YAML, naming the path, the prop and the value', () => {
    function fixture(chartNamespace: string | null = 'test-ns') {
      const chart = testChart(chartNamespace);
      const queue = new RedisQueue(chart, 'queue', { listName: 'events', exporter: { podMonitor: true } });
      const bare = new RedisQueue(chart, 'bare', { listName: 'events' });
      const exporter = new QueueExporter(chart, 'exporter', { queues: [queue], podMonitor: true });
      const unscraped = new QueueExporter(chart, 'unscraped', { queues: [queue] });
      const worker = new QueueWorker(chart, 'worker', { queue, podMonitor: true });
      const other = new QueueWorker(chart, 'other', { queue, podMonitor: true });
      const quiet = new QueueWorker(chart, 'quiet', { queue });
      const elsewhere = new QueueWorker(chart, 'elsewhere', { queue: { connection: queue.connection, listName: 'orders' }, podMonitor: true });
      const scaler = new KedaScaledObject(chart, 'scaler', { target: other.deployment, triggers: other.scalingTriggers() });
      const job = new KedaScaledJob(chart, 'job', { triggers: [queue.listTrigger()], container: { envVariables: queue.envVariables() } });
      const rules = new AlertRules(chart, 'alerts');
      return { chart, queue, bare, exporter, unscraped, worker, quiet, elsewhere, scaler, job, rules };
    }
    type Fixture = ReturnType<typeof fixture>;

    test.each<[string, (f: Fixture) => void, RegExp]>([
      [
        'a label key with a space',
        (f) => new AlertRules(f.chart, 'x', { labels: { 'bad key': 'v' } }),
        /test\/x: 'labels' \("bad key"\) must be label keys of the form \[prefix\/\]name/,
      ],
      [
        'a label value with a space',
        (f) => new AlertRules(f.chart, 'x', { labels: { release: 'kube prometheus' } }),
        /test\/x: 'labels.release' \("kube prometheus"\) must be a label value/,
      ],
      [
        'an alert label with a dash',
        (f) => new AlertRules(f.chart, 'x', { alertLabels: { 'on-call': 'a' } }),
        /test\/x: 'alertLabels' \("on-call"\) must be Prometheus label names/,
      ],
      ['an alert label with __', (f) => new AlertRules(f.chart, 'x', { alertLabels: { __name__: 'a' } }), /'alertLabels' \("__name__"\) must be Prometheus label names/],
      [
        'severity as an alert label',
        (f) => new AlertRules(f.chart, 'x', { alertLabels: { severity: 'page' } }),
        /'alertLabels' \("severity"\) must not set alertname, severity, namespace, list/,
      ],
      [
        'a relative runbookUrl',
        (f) => new AlertRules(f.chart, 'x', { runbookUrl: 'docs/runbooks.md' }),
        /test\/x: 'runbookUrl' \("docs\/runbooks.md"\) must be an absolute http\(s\) URL/,
      ],
      [
        'a runbookUrl with a fragment',
        (f) => new AlertRules(f.chart, 'x', { runbookUrl: 'https://x.example/r#top' }),
        /'runbookUrl' \("https:\/\/x.example\/r#top"\) must be an absolute http\(s\) URL without a #fragment/,
      ],
      ['interval 1.5 s', (f) => new AlertRules(f.chart, 'x', { interval: Duration.millis(1500) }), /'interval' \("1.5s"\) must be a whole number of seconds, at least 1/],
      [
        'oldestReadyAge 0',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.worker, oldestReadyAge: Duration.seconds(0) }),
        /test\/alerts: 'oldestReadyAge' \("0s"\) must be a whole number of seconds, at least 1/,
      ],
      [
        'backlogWindow 30 s',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.worker, backlogWindow: Duration.seconds(30) }),
        /'backlogWindow' \("30s"\) must be a whole number of seconds, at least 60/,
      ],
      ['memoryFraction 0', (f) => f.rules.addRedis(f.queue, { memoryFraction: 0 }), /test\/alerts: 'memoryFraction' \(0\) must be a number above 0 and below 1/],
      ['memoryFraction 1', (f) => f.rules.addRedis(f.queue, { memoryFraction: 1 }), /'memoryFraction' \(1\) must be a number above 0 and below 1/],
      ['memoryFraction 90', (f) => f.rules.addRedis(f.queue, { memoryFraction: 90 }), /'memoryFraction' \(90\) must be a number above 0 and below 1/],
      ['memoryFraction NaN', (f) => f.rules.addRedis(f.queue, { memoryFraction: NaN }), /'memoryFraction' \(NaN\) must be a number above 0 and below 1/],
      [
        'an exporter of other lists',
        (f) => f.rules.addQueue({ connection: f.queue.connection, listName: 'orders' }, { exporter: f.exporter, consumers: f.elsewhere }),
        /'exporter' \("test\/exporter"\) must export the list "orders" of this queue's connection \(it exports events\)/,
      ],
      [
        'an exporter of another Redis',
        (f) => f.rules.addQueue(f.bare, { exporter: f.exporter, consumers: f.worker }),
        /'exporter' \("test\/exporter"\) must export the list "events" of this queue's connection/,
      ],
      [
        'an exporter without a PodMonitor',
        (f) => f.rules.addQueue(f.queue, { exporter: f.unscraped, consumers: f.worker }),
        /'exporter' \("test\/unscraped"\) must have a PodMonitor \('podMonitor'\): the queue alerts read its series/,
      ],
      [
        'workers without a PodMonitor',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.quiet }),
        /'consumers' \("test\/quiet"\) must have a PodMonitor \('podMonitor'\): the alerts count its pods by `up`/,
      ],
      [
        'workers of another list',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.elsewhere }),
        /'consumers' \("test\/elsewhere"\) must consume the list "events" \(it consumes "orders"\)/,
      ],
      [
        'a scaler of other workers',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.worker, scaler: f.scaler }),
        /'scaler' \("test\/scaler"\) must target the Deployment of 'consumers' \(test-worker-deployment-/,
      ],
      [
        'a scaler beside a ScaledJob',
        (f) => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.job, scaler: f.scaler }),
        /'scaler' \("test\/scaler"\) must be left out: a KedaScaledJob is its own scaler/,
      ],
      [
        'a queue twice',
        (f) => [0, 1].forEach(() => f.rules.addQueue(f.queue, { exporter: f.exporter, consumers: f.job })),
        /test\/alerts: 'queue' \("events"\) has its alerts added already/,
      ],
      ['a Redis without a scraped exporter', (f) => f.rules.addRedis(f.bare), /'queue' \("test\/bare"\) must have a scraped redis_exporter \('exporter: \{ podMonitor: true \}'\)/],
      [
        'Celery workers without a PodMonitor',
        (f) => f.rules.addCeleryWorker(new CeleryWorker(f.chart, 'celery', { connection: f.queue.connection })),
        /'worker' \("test\/celery"\) must have a PodMonitor \('podMonitor'\): the alerts read its series/,
      ],
      ['an exporter without a PodMonitor (exporter alert)', (f) => f.rules.addQueueExporter(f.unscraped), /'exporter' \("test\/unscraped"\) must have a PodMonitor/],
    ])('%s', (_name, act, message) => {
      const f = fixture();
      expect(() => act(f)).toThrow(message);
    });

    test('a chart without a namespace: the alerts could not select its pods', () => {
      const chart = testChart(null);
      const queue = new RedisQueue(chart, 'queue', { exporter: { podMonitor: true } });
      const rules = new AlertRules(chart, 'alerts');
      expect(() => rules.addRedis(queue)).toThrow(
        /test\/alerts: 'queue' \("test\/queue"\) is in a chart without a namespace; the alerts select its pods by namespace: set the chart's 'namespace'/,
      );
    });
  });
});

describe('PodMonitor labels (kube-prometheus-stack selects by `release`)', () => {
  test('podMonitor: { labels } labels the PodMonitor of a QueueWorker, a CeleryWorker, a QueueExporter and a RedisQueue exporter', () => {
    const chart = testChart();
    const labels = { release: 'kube-prometheus-stack', 'example.com/team': 'queues' };
    const queue = new RedisQueue(chart, 'queue', { name: 'redis', exporter: { podMonitor: { labels } } });
    new QueueWorker(chart, 'worker', { name: 'worker', queue, podMonitor: { labels } });
    new QueueExporter(chart, 'exporter', { name: 'queue-exporter', queues: [queue], podMonitor: { labels } });
    new CeleryWorker(chart, 'celery', { name: 'celery', connection: RedisConnection.external(chart, { host: 'cache.example.com' }), podMonitor: { labels } });
    const docs = synth(chart);
    const monitors = all(docs, 'PodMonitor');
    expect(monitors.map((m) => [m.metadata.name, m.metadata.labels])).toEqual([
      ['redis', labels],
      ['worker', labels],
      ['queue-exporter', labels],
      ['celery', labels],
    ]);
    // The Redis one selects the StatefulSet's pods and scrapes the exporter's named port.
    const sts = only(docs, 'StatefulSet');
    const redisMonitor = monitors[0];
    expect(Object.entries(redisMonitor.spec.selector.matchLabels).every(([k, v]) => sts.spec.template.metadata.labels[k] === v)).toBe(true);
    expect(redisMonitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    const exporterPorts = sts.spec.template.spec.containers.find((c: Doc) => c.name === 'exporter').ports;
    expect(exporterPorts).toEqual([{ name: 'metrics', containerPort: 9121 }]);
    expect(docs.flatMap((d) => upstreamErrors(d as any))).toEqual([]);
  });

  test('podMonitor: true stays as it was: no labels; a RedisQueue exporter without podMonitor has no PodMonitor', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { exporter: {} });
    new QueueWorker(chart, 'worker', { queue, podMonitor: true });
    const monitor = only(synth(chart), 'PodMonitor');
    expect(Object.keys(monitor.metadata).sort()).toEqual(['name', 'namespace']);
    expect(queue.exporterPodMonitor).toBeUndefined();
  });

  test.each<[string, (chart: ReturnType<typeof testChart>) => void, RegExp]>([
    [
      'a QueueWorker',
      (chart) => new QueueWorker(chart, 'worker', { queue: new RedisQueue(chart, 'queue'), podMonitor: { labels: { 'a/b/c': 'x' } } }),
      /test\/worker: 'podMonitor.labels' \("a\/b\/c"\) must be label keys/,
    ],
    [
      'a RedisQueue exporter',
      (chart) => new RedisQueue(chart, 'queue', { exporter: { podMonitor: { labels: { release: '-x' } } } }),
      /test\/queue: 'exporter.podMonitor.labels.release' \("-x"\) must be a label value/,
    ],
    [
      'a QueueExporter',
      (chart) => new QueueExporter(chart, 'exporter', { queues: [new RedisQueue(chart, 'queue')], podMonitor: { labels: { ['x'.repeat(64)]: 'y' } } }),
      /test\/exporter: 'podMonitor.labels' \("x{64}"\) must be label keys/,
    ],
  ])('rejects bad labels on %s', (_name, act, message) => {
    expect(() => act(testChart())).toThrow(message);
  });
});
