/**
 * The synthesized rule groups checked and unit-tested by the real promtool (Debian's `prometheus`
 * package): `promtool check rules`, then `promtool test rules` with input series that fire each
 * alert and series that do not, for the chart with names and the one whose names cdk8s generates.
 * Without promtool these tests fail, saying what to install.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RedisKedaAlert } from '../../constructs';
import { RedisExporterMetrics } from '../../constructs/private/external-metrics';
import { CeleryMetrics, ForecastMetrics, Metrics, ScalerMetrics } from '../../runtime/contract';
import { alertChart, NAMESPACE } from './alert-rules-chart';
import { Doc } from './helpers';

const PROMTOOL = process.env.PROMTOOL_BINARY ?? 'promtool';

function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(PROMTOOL, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(`promtool not found ('${PROMTOOL}'): install Debian's prometheus package (apt-get install prometheus), as .ci/run does, or set PROMTOOL_BINARY`));
        return;
      }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

interface Series {
  readonly series: string;
  readonly values: string;
}
interface Expected {
  readonly exp_labels: Record<string, string>;
  readonly exp_annotations: Record<string, string>;
}
interface Case {
  readonly name: string;
  readonly input_series: Series[];
  readonly alert_rule_test: { eval_time: string; alertname: string; exp_alerts: Expected[] }[];
}

function sample(metric: string, labels: Record<string, string>, values: string): Series {
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return { series: `${metric}{${inner}}`, values };
}

/** The promtool test cases: for each alert, series that fire it (exact labels and annotations) and series that do not. */
function cases(rule: Doc, names: ReturnType<typeof alertChart>['names']): Case[] {
  const ns = NAMESPACE;
  // Extra target labels as a PodMonitor scrape adds them: the rules aggregate them away.
  const scrape = (pod: string, namespace = ns) => ({ namespace, pod, job: `${namespace}/scrape`, instance: `${pod}:9090` });
  const exporterPod = `${names.exporter}-7d9f8b6c5d-x2x4z`;
  const workerPods = ['5c7b9d8f6-abcde', '5c7b9d8f6-fghij', '5c7b9d8f6-klmno'].map((s) => `${names.worker}-${s}`);
  // Pods no rule of ours may count: another Deployment whose name starts like the fleet's, and the fleet's name in another namespace.
  const strangers = [sample('up', scrape(`${names.worker}-canary-6d8f7c9b5-qwert`), '1x20'), sample('up', scrape(workerPods[0], 'other-ns'), '1x20')];
  const depth = (list: string, state: string, values: string) => sample(Metrics.QUEUE_DEPTH, { ...scrape(exporterPod), list, state }, values);
  const up = (pod: string, values: string) => sample('up', scrape(pod), values);
  const redisPod = `${names.redis}-0`;
  const redis = (metric: string, values: string, pod = redisPod, namespace = ns) => sample(metric, scrape(pod, namespace), values);
  const exporterUp = (values: string) => sample(Metrics.QUEUE_EXPORTER_UP, scrape(exporterPod), values);

  const annotations = (group: number, alert: string) => rule.spec.groups[group].rules.find((r: Doc) => r.alert === alert).annotations as Record<string, string>;
  const queueAlert = (list: string, alert: RedisKedaAlert, severity: string, annotationsOverride: Partial<Record<string, string>> = {}): Expected => ({
    exp_labels: { namespace: ns, list, team: 'queues', severity },
    exp_annotations: { ...annotations(list === 'events' ? 0 : 1, alert), ...annotationsOverride } as Record<string, string>,
  });
  const test = (eval_time: string, alertname: RedisKedaAlert, exp_alerts: Expected[] = []) => ({ eval_time, alertname, exp_alerts });
  const { QUEUE_BACKLOG_WITHOUT_CONSUMERS: BACKLOG, QUEUE_OLDEST_EVENT_TOO_OLD: OLDEST, QUEUE_DEAD_LETTERING: DEAD, FLEET_AT_MAX_REPLICAS: AT_MAX } = RedisKedaAlert;
  const { REDIS_DOWN, REDIS_NEAR_MAX_MEMORY, QUEUE_EXPORTER_DOWN, CELERY_DEAD_LETTERING } = RedisKedaAlert;
  const celeryPods = ['7f6d5c4b3-aaaaa', '7f6d5c4b3-bbbbb'].map((s) => `${names.celery}-${s}`);
  const celeryDead = (pod: string, values: string, namespace = ns) => sample(CeleryMetrics.DEAD_LETTERED, scrape(pod, namespace), values);
  const redisLabels = { namespace: ns, statefulset: names.redis, team: 'queues' };
  const exporterLabels = { namespace: ns, deployment: names.exporter, team: 'queues', severity: 'warning' };

  // The cluster's nodes, healthy in every case unless a case says otherwise of node 1.
  const { REDIS_CLUSTER_STATE_NOT_OK: CLUSTER_STATE, REDIS_CLUSTER_SLOTS_NOT_COVERED: CLUSTER_SLOTS } = RedisKedaAlert;
  const clusterPods = [0, 1, 2].map((i) => `${names.cluster}-${i}`);
  const clusterGroup = rule.spec.groups.findIndex((g: Doc) => g.name === `redis-keda.redis.${ns}/${names.cluster}`);
  const clusterAlert = (alert: RedisKedaAlert, pod: string, value: string): Expected => {
    const a = annotations(clusterGroup, alert);
    return {
      exp_labels: { namespace: ns, statefulset: names.cluster, team: 'queues', pod, severity: 'critical' },
      exp_annotations: { ...a, description: a.description.replace('{{ $labels.pod }}', pod).replace('{{ $value }}', value) },
    };
  };
  const healthyCluster = (except?: string) => [
    // The queue's Redis is up too, so only the cluster's alerts can fire in the cluster cases.
    redis(RedisExporterMetrics.UP, '1x20'),
    ...clusterPods.flatMap((pod) => [
      redis(RedisExporterMetrics.UP, '1x20', pod),
      ...(pod === except ? [] : [redis(RedisExporterMetrics.CLUSTER_STATE, '1x20', pod), redis(RedisExporterMetrics.CLUSTER_SLOTS_OK, '16384x20', pod)]),
    ]),
  ];
  const clusterCases: Case[] = [
    {
      name: 'a cluster node reports cluster_state fail (and sees 16000 slots ok): both cluster alerts fire after 2m, for that node',
      input_series: [
        ...healthyCluster(clusterPods[1]),
        redis(RedisExporterMetrics.CLUSTER_STATE, '0x10', clusterPods[1]),
        redis(RedisExporterMetrics.CLUSTER_SLOTS_OK, '16000x10', clusterPods[1]),
      ],
      alert_rule_test: [
        test('1m', CLUSTER_STATE),
        test('1m', CLUSTER_SLOTS),
        test('5m', CLUSTER_STATE, [clusterAlert(CLUSTER_STATE, clusterPods[1], '0')]),
        test('5m', CLUSTER_SLOTS, [clusterAlert(CLUSTER_SLOTS, clusterPods[1], '16000')]),
        test('5m', REDIS_DOWN),
      ],
    },
    {
      name: 'every cluster node ok with all slots, and a failing node of another namespace: no cluster alert',
      input_series: [
        ...healthyCluster(clusterPods[1]),
        redis(RedisExporterMetrics.CLUSTER_STATE, '1x10', clusterPods[1]),
        redis(RedisExporterMetrics.CLUSTER_SLOTS_OK, '16384x10', clusterPods[1]),
        redis(RedisExporterMetrics.CLUSTER_STATE, '0x10', clusterPods[1], 'other-ns'),
        redis(RedisExporterMetrics.CLUSTER_SLOTS_OK, '0x10', clusterPods[1], 'other-ns'),
      ],
      alert_rule_test: [test('5m', CLUSTER_STATE), test('5m', CLUSTER_SLOTS)],
    },
    {
      name: 'a cluster node whose exporter reports Redis down: the down alert fires for it',
      input_series: [
        ...healthyCluster(clusterPods[2]).filter((x) => !x.series.startsWith(`${RedisExporterMetrics.UP}{`) || !x.series.includes(`"${clusterPods[2]}"`)),
        redis(RedisExporterMetrics.UP, '0x10', clusterPods[2]),
      ],
      alert_rule_test: [
        test('5m', REDIS_DOWN, [
          {
            exp_labels: { namespace: ns, statefulset: names.cluster, team: 'queues', pod: clusterPods[2], severity: 'critical' },
            exp_annotations: annotations(clusterGroup, REDIS_DOWN),
          },
        ]),
      ],
    },
    {
      name: 'one cluster node at 95% of maxmemory for 5m, the others at 50%: the memory alert fires for that node only',
      input_series: [
        ...healthyCluster(),
        ...clusterPods.flatMap((pod) => [
          redis(RedisExporterMetrics.MEMORY_USED_BYTES, pod === clusterPods[2] ? '950x10' : '500x10', pod),
          redis(RedisExporterMetrics.MEMORY_MAX_BYTES, '1000x10', pod),
        ]),
      ],
      alert_rule_test: [
        test('4m', REDIS_NEAR_MAX_MEMORY),
        test('8m', REDIS_NEAR_MAX_MEMORY, [
          {
            exp_labels: { namespace: ns, statefulset: names.cluster, team: 'queues', pod: clusterPods[2], severity: 'warning' },
            exp_annotations: {
              ...annotations(clusterGroup, REDIS_NEAR_MAX_MEMORY),
              description: `Redis of StatefulSet ${names.cluster} uses 95% of its maxmemory (384Mi); at maxmemory it refuses new events (publishers fail with "queue full").`,
            },
          },
        ]),
      ],
    },
    {
      name: 'a cluster node not scraped at all (its series gone): the down alert fires for the StatefulSet',
      input_series: [...healthyCluster().filter((x) => !(x.series.startsWith(`${RedisExporterMetrics.UP}{`) && x.series.includes(names.cluster)))],
      alert_rule_test: [
        test('5m', REDIS_DOWN, [
          {
            exp_labels: { namespace: ns, statefulset: names.cluster, team: 'queues', severity: 'critical' },
            exp_annotations: annotations(clusterGroup, REDIS_DOWN),
          },
        ]),
      ],
    },
  ];

  const queueCases: Case[] = [
    // --- the worker fleet on `events` (3 pods at most) ---
    {
      name: 'backlog grows, the fleet pod is scraped but down, only strangers are up: fires after 5m of growth and 5m pending',
      input_series: [depth('events', 'ready', '0+10x20'), depth('events', 'inflight', '0x20'), up(workerPods[0], '0x20'), ...strangers],
      alert_rule_test: [test('4m', BACKLOG), test('12m', BACKLOG, [queueAlert('events', BACKLOG, 'critical')])],
    },
    {
      name: 'backlog grows while one fleet pod is up: no backlog alert',
      input_series: [depth('events', 'ready', '0+10x20'), depth('events', 'inflight', '0x20'), up(workerPods[0], '1x20')],
      alert_rule_test: [test('12m', BACKLOG)],
    },
    {
      name: 'a backlog that does not grow, no consumer: no backlog alert (the age alert covers it)',
      input_series: [depth('events', 'ready', '50x20'), depth('events', 'inflight', '0x20')],
      alert_rule_test: [test('12m', BACKLOG)],
    },
    {
      name: 'the fleet at its 3 pods while the backlog grows: at-max fires',
      input_series: [depth('events', 'ready', '0+10x20'), ...workerPods.map((p) => up(p, '1x20')), ...strangers],
      alert_rule_test: [test('12m', AT_MAX, [queueAlert('events', AT_MAX, 'warning')]), test('12m', BACKLOG)],
    },
    {
      name: '2 of 3 fleet pods up (strangers do not count), backlog grows: no at-max alert',
      input_series: [depth('events', 'ready', '0+10x20'), up(workerPods[0], '1x20'), up(workerPods[1], '1x20'), up(workerPods[2], '0x20'), ...strangers],
      alert_rule_test: [test('12m', AT_MAX)],
    },
    {
      name: 'the fleet at its 3 pods while the backlog drains: no at-max alert',
      input_series: [depth('events', 'ready', '300-10x20'), ...workerPods.map((p) => up(p, '1x20'))],
      alert_rule_test: [test('12m', AT_MAX)],
    },
    {
      name: 'the oldest ready event ages past 5m: fires with its age',
      input_series: [sample(Metrics.QUEUE_OLDEST_READY_AGE, { ...scrape(exporterPod), list: 'events' }, '0+60x20')],
      alert_rule_test: [
        test('10m', OLDEST, [queueAlert('events', OLDEST, 'warning', { description: 'The ready event consumed next on events was enqueued 10m 0s ago (threshold 5m).' })]),
      ],
    },
    {
      name: 'the oldest ready event exactly at 5m: no age alert',
      input_series: [sample(Metrics.QUEUE_OLDEST_READY_AGE, { ...scrape(exporterPod), list: 'events' }, '0+30x20')],
      alert_rule_test: [test('10m', OLDEST)],
    },
    {
      name: 'one event dead-lettered: fires at once, and clears 5m later',
      input_series: [depth('events', 'dead', '0x5 1x14')],
      alert_rule_test: [test('8m', DEAD, [queueAlert('events', DEAD, 'warning')]), test('13m', DEAD)],
    },
    {
      name: 'dead letters that stay, and dead letters redriven: no dead-letter alert',
      input_series: [depth('events', 'dead', '3x20'), depth('jobs', 'dead', '5x5 0x14')],
      alert_rule_test: [test('8m', DEAD)],
    },
    // --- the Job per event consumer on `jobs` (4 Jobs at most) ---
    {
      name: 'jobs backlog grows and no Job holds an event: fires',
      input_series: [depth('jobs', 'ready', '0+5x20'), depth('jobs', 'inflight', '0x20'), depth('events', 'inflight', '3x20')],
      alert_rule_test: [test('12m', BACKLOG, [queueAlert('jobs', BACKLOG, 'critical')])],
    },
    {
      name: 'jobs backlog grows while Jobs hold 2 events: no backlog alert',
      input_series: [depth('jobs', 'ready', '0+5x20'), depth('jobs', 'inflight', '2x20')],
      alert_rule_test: [test('12m', BACKLOG)],
    },
    {
      name: '4 Jobs hold an event each and the jobs backlog grows: at-max fires',
      input_series: [depth('jobs', 'ready', '0+5x20'), depth('jobs', 'inflight', '4x20')],
      alert_rule_test: [test('12m', AT_MAX, [queueAlert('jobs', AT_MAX, 'warning')])],
    },
    {
      name: '3 Jobs hold an event each: no at-max alert',
      input_series: [depth('jobs', 'ready', '0+5x20'), depth('jobs', 'inflight', '3x20')],
      alert_rule_test: [test('12m', AT_MAX)],
    },
    // --- Redis ---
    {
      name: 'redis_exporter reports Redis down: fires after 2m',
      input_series: [redis(RedisExporterMetrics.UP, '0x10')],
      alert_rule_test: [
        test('1m', REDIS_DOWN),
        test('5m', REDIS_DOWN, [{ exp_labels: { ...redisLabels, pod: redisPod, severity: 'critical' }, exp_annotations: annotations(2, REDIS_DOWN) }]),
      ],
    },
    {
      name: 'no redis_up of this Redis at all (only of another StatefulSet and another namespace): fires',
      input_series: [redis(RedisExporterMetrics.UP, '1x10', `${names.redis}-cache-0`), redis(RedisExporterMetrics.UP, '1x10', redisPod, 'other-ns')],
      alert_rule_test: [test('5m', REDIS_DOWN, [{ exp_labels: { ...redisLabels, severity: 'critical' }, exp_annotations: annotations(2, REDIS_DOWN) }])],
    },
    {
      name: 'Redis up: no down alert',
      input_series: [redis(RedisExporterMetrics.UP, '1x10')],
      alert_rule_test: [test('5m', REDIS_DOWN)],
    },
    {
      name: 'Redis at 95% of maxmemory for 5m: fires with the share',
      input_series: [redis(RedisExporterMetrics.MEMORY_USED_BYTES, '950x10'), redis(RedisExporterMetrics.MEMORY_MAX_BYTES, '1000x10')],
      alert_rule_test: [
        test('4m', REDIS_NEAR_MAX_MEMORY),
        test('8m', REDIS_NEAR_MAX_MEMORY, [
          {
            exp_labels: { ...redisLabels, pod: redisPod, severity: 'warning' },
            exp_annotations: {
              ...annotations(2, REDIS_NEAR_MAX_MEMORY),
              description: `Redis of StatefulSet ${names.redis} uses 95% of its maxmemory (384Mi); at maxmemory it refuses new events (publishers fail with "queue full").`,
            },
          },
        ]),
      ],
    },
    {
      name: 'Redis at 80% of maxmemory, and a Redis without maxmemory: no memory alert',
      input_series: [
        redis(RedisExporterMetrics.MEMORY_USED_BYTES, '800x10'),
        redis(RedisExporterMetrics.MEMORY_MAX_BYTES, '1000x10'),
        redis(RedisExporterMetrics.MEMORY_USED_BYTES, '950x10', `${names.redis}-1`),
        redis(RedisExporterMetrics.MEMORY_MAX_BYTES, '0x10', `${names.redis}-1`),
      ],
      alert_rule_test: [test('8m', REDIS_NEAR_MAX_MEMORY)],
    },
    // --- the queue exporter ---
    {
      name: 'the exporter cannot read Redis: fires after 2m',
      input_series: [exporterUp('0x10')],
      alert_rule_test: [test('5m', QUEUE_EXPORTER_DOWN, [{ exp_labels: { ...exporterLabels, pod: exporterPod }, exp_annotations: annotations(3, QUEUE_EXPORTER_DOWN) }])],
    },
    {
      name: 'the exporter is not scraped: fires',
      input_series: [up(workerPods[0], '1x10')],
      alert_rule_test: [test('5m', QUEUE_EXPORTER_DOWN, [{ exp_labels: exporterLabels, exp_annotations: annotations(3, QUEUE_EXPORTER_DOWN) }])],
    },
    {
      name: 'the exporter reads Redis: no exporter alert',
      input_series: [exporterUp('1x10')],
      alert_rule_test: [test('5m', QUEUE_EXPORTER_DOWN)],
    },
    // --- the Celery workers ---
    {
      name: 'a Celery worker dead-letters a message: fires at once, and clears 5m later',
      input_series: [celeryDead(celeryPods[0], '0x5 1x14'), celeryDead(celeryPods[1], '0x20')],
      alert_rule_test: [
        test('8m', CELERY_DEAD_LETTERING, [
          { exp_labels: { namespace: ns, deployment: names.celery, team: 'queues', severity: 'warning' }, exp_annotations: annotations(4, CELERY_DEAD_LETTERING) },
        ]),
        test('13m', CELERY_DEAD_LETTERING),
      ],
    },
    {
      name: 'Celery counters that do not move, a restarted pod (counter reset), and dead letters of another namespace: no alert',
      input_series: [celeryDead(celeryPods[0], '4x20'), celeryDead(celeryPods[1], '2x5 0x14'), celeryDead(celeryPods[0], '0+1x20', 'other-ns')],
      alert_rule_test: [test('8m', CELERY_DEAD_LETTERING)],
    },
  ];
  // --- Forecaster and external scaler ---
  const { FORECAST_STALE: STALE, FORECASTER_DEGRADED: DEGRADED, EXTERNAL_SCALER_ERRORS: SCALER_ERRORS } = RedisKedaAlert;
  const forecasterPods = ['6b5c4d3e2-aaaaa', '6b5c4d3e2-bbbbb'].map((s) => `${names.forecaster}-${s}`);
  const scalerPod = `${names.scaler}-59d8c7b6a-zzzzz`;
  const age = (workload: string, values: string, pod = forecasterPods[0], namespace = ns) => sample(ForecastMetrics.AGE, { ...scrape(pod, namespace), workload }, values);
  const fresh = (workload: string) => age(workload, '10x20', forecasterPods[1]);
  const ruleOf = (alert: RedisKedaAlert, workload?: string) =>
    rule.spec.groups.flatMap((g: Doc) => g.rules).find((r: Doc) => r.alert === alert && (workload === undefined || r.labels.workload === workload));
  const forecasterLabels = { namespace: ns, deployment: names.forecaster, team: 'queues', severity: 'warning' };
  const stale = (workload: string): Expected => ({ exp_labels: { ...forecasterLabels, workload }, exp_annotations: ruleOf(STALE, workload).annotations });
  const fill = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l]);
  const templated = (alert: RedisKedaAlert, labels: Record<string, string>): Expected => ({
    exp_labels: labels,
    exp_annotations: Object.fromEntries(Object.entries(ruleOf(alert).annotations as Record<string, string>).map(([k, v]) => [k, fill(v, labels)])),
  });
  const scalerErrors = (values: string, pod = scalerPod, namespace = ns) =>
    sample(ScalerMetrics.ERRORS, { ...scrape(pod, namespace), method: 'GetMetrics', reason: 'stale' }, values);
  const forecastCases: Case[] = [
    {
      name: "api's forecast ages past its 2 minutes on the only replica reporting it: stale fires for api after 1m; worker's is fresh",
      input_series: [age('api', '0+60x10'), fresh('worker')],
      alert_rule_test: [test('2m', STALE), test('5m', STALE, [stale('api')])],
    },
    {
      name: "worker's 90 s limit: 100 s old is stale for worker and would not be for api",
      input_series: [age('worker', '100x10'), age('api', '100x10')],
      alert_rule_test: [test('5m', STALE, [stale('worker')])],
    },
    {
      name: 'one replica sees a fresh forecast (the freshest view counts); an old one of another Deployment and of another namespace: quiet',
      input_series: [
        age('api', '0+60x10'),
        fresh('api'),
        fresh('worker'),
        age('api', '900x10', `${names.forecaster}-canary-6b5c4d3e2-ccccc`),
        age('worker', '900x10', forecasterPods[0], 'other-ns'),
      ],
      alert_rule_test: [test('5m', STALE)],
    },
    {
      name: 'no forecaster reports anything: stale fires for both workloads',
      input_series: [age('api', '10x10', forecasterPods[0], 'other-ns')],
      alert_rule_test: [
        test('5m', STALE, [
          { exp_labels: { ...forecasterLabels, workload: 'api' }, exp_annotations: ruleOf(STALE, 'api').annotations },
          { exp_labels: { ...forecasterLabels, workload: 'worker' }, exp_annotations: ruleOf(STALE, 'worker').annotations },
        ]),
      ],
    },
    {
      name: 'a replica degraded on api from 2m: fires after 5m, naming api',
      input_series: [
        sample(ForecastMetrics.DEGRADED, { ...scrape(forecasterPods[0]), workload: 'api' }, '0 0 1x10'),
        sample(ForecastMetrics.DEGRADED, { ...scrape(forecasterPods[1]), workload: 'api' }, '0x12'),
      ],
      alert_rule_test: [test('6m', DEGRADED), test('8m', DEGRADED, [templated(DEGRADED, { ...forecasterLabels, workload: 'api' })])],
    },
    {
      name: 'degraded for 3 minutes only, and degraded in another namespace: quiet',
      input_series: [
        sample(ForecastMetrics.DEGRADED, { ...scrape(forecasterPods[0]), workload: 'api' }, '1 1 1 0x10'),
        sample(ForecastMetrics.DEGRADED, { ...scrape(forecasterPods[0], 'other-ns'), workload: 'api' }, '1x12'),
      ],
      alert_rule_test: [test('8m', DEGRADED)],
    },
    {
      name: 'the scaler counts a stale-forecast error a minute: fires after 2m, by reason',
      input_series: [scalerErrors('0+1x10')],
      alert_rule_test: [
        test('1m', SCALER_ERRORS),
        test('5m', SCALER_ERRORS, [templated(SCALER_ERRORS, { namespace: ns, deployment: names.scaler, reason: 'stale', team: 'queues', severity: 'warning' })]),
      ],
    },
    {
      name: 'scaler error counters that do not move, and errors of another namespace: quiet',
      input_series: [scalerErrors('3x10'), scalerErrors('0+1x10', scalerPod, 'other-ns')],
      alert_rule_test: [test('5m', SCALER_ERRORS)],
    },
  ];
  // The queue cases see a healthy cluster, so its alerts (absent() included) stay out of their expectations.
  const clusterOnly = healthyCluster().slice(1);
  return [...queueCases.map((c) => ({ ...c, input_series: [...c.input_series, ...clusterOnly] })), ...clusterCases, ...forecastCases];
}

describe.each([true, false])('promtool on the synthesized rules (named %s)', (named) => {
  let dir: string;
  const { rule, names } = alertChart(named);
  const all = cases(rule, names);
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-alert-rules-'));
    // The PrometheusRule's spec is a Prometheus rule file (JSON is YAML).
    fs.writeFileSync(path.join(dir, 'rules.json'), JSON.stringify({ groups: rule.spec.groups }, null, 2));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('promtool check rules accepts every group (lint included)', async () => {
    const result = await promtool(['check', 'rules', 'rules.json'], dir);
    expect(result).toEqual({ code: 0, output: expect.stringContaining('SUCCESS: 20 rules found') });
  });

  test('the cases cover every alert, each with series that fire it and series that do not', () => {
    const fired = new Set(all.flatMap((c) => c.alert_rule_test.filter((t) => t.exp_alerts.length).map((t) => t.alertname)));
    const quiet = new Set(all.flatMap((c) => c.alert_rule_test.filter((t) => !t.exp_alerts.length).map((t) => t.alertname)));
    expect([...fired].sort()).toEqual(Object.values(RedisKedaAlert).sort());
    expect([...quiet].sort()).toEqual(Object.values(RedisKedaAlert).sort());
  });

  test('promtool test rules: every alert fires on its series, with exact labels and annotations, and stays quiet on the others', async () => {
    fs.writeFileSync(
      path.join(dir, 'tests.json'),
      JSON.stringify({ rule_files: ['rules.json'], evaluation_interval: '1m', tests: all.map((c) => ({ interval: '1m', ...c })) }, null, 2),
    );
    const result = await promtool(['test', 'rules', 'tests.json'], dir);
    if (result.code !== 0) throw new Error(`promtool test rules failed (exit ${result.code}):\n${result.output}`);
    expect(result.output).toContain('SUCCESS');
  });

  test('promtool test rules fails when an expectation is wrong (these cases can fail)', async () => {
    const firing = all.find((c) => c.alert_rule_test.some((t) => t.exp_alerts.length))!;
    const wrong = { ...firing, alert_rule_test: firing.alert_rule_test.map((t) => ({ ...t, exp_alerts: [] })) };
    fs.writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ rule_files: ['rules.json'], evaluation_interval: '1m', tests: [{ interval: '1m', ...wrong }] }));
    const result = await promtool(['test', 'rules', 'wrong.json'], dir);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`alertname: ${RedisKedaAlert.QUEUE_BACKLOG_WITHOUT_CONSUMERS}`);
  });
});
