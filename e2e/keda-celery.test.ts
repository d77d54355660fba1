/**
 * The Celery chart's ScaledObject on a live cluster: a CeleryWorker and a KedaScaledObject on
 * `worker.scalingTriggers()`, as CeleryWorkerChart has them, their connection external, to a real
 * redis-server on loopback with a password from a Secret. KEDA reads kombu's priority lists, whose
 * names hold the control characters \x06\x16, and the `unacked` hash; the HPA accepts the metric
 * names KEDA makes of them and scales on them. Pods run on KWOK and never consume, so the counts
 * the test sets hold still while it compares each metric with LLEN / HLEN of its key.
 */
import { randomBytes } from 'crypto';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { Chart, Duration } from 'cdk8s';
import Redis from 'ioredis';
import { CeleryWorker, KedaScaledObject } from '../constructs';
import { celeryPriorityList, CeleryKeys } from '../runtime/contract';
import { runCli } from '../test/support/cli';
import { RedisServer, startRedis } from '../test/support/redis-server';
import { conditionOf, conditionsAre, counterDelta, eventsOf, externalMetric, hpaControllerCounters, hpaReadingsReach } from './harness/autoscaling';
import { applyObjects, ChartObject, createSecret, loopbackRedis, objectsOf, REDIS_AUTH_SECRET, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { Keda } from './harness/keda';
import { scenarioSteps } from './harness/steps';
import { waitFor } from './harness/wait';

const NS = 'e2e-celery';
const NAME = 'celery-worker';
const HPA = `keda-hpa-${NAME}`;
const PASSWORD = randomBytes(16).toString('hex');
const TASKS_PER_REPLICA = 10;
const CONCURRENCY = 4;
/** Each trigger's key, in the order the ScaledObject lists them. */
const KEYS = {
  celery: 'celery',
  'celery-priority-3': celeryPriorityList('celery', 3),
  'celery-priority-6': celeryPriorityList('celery', 6),
  'celery-priority-9': celeryPriorityList('celery', 9),
  unacked: CeleryKeys.UNACKED,
} as const;
type TriggerName = keyof typeof KEYS;
/** KEDA's metric names, `s<index>-redis-<key>`: the control characters stay. */
const METRIC: Record<TriggerName, string> = {
  celery: 's0-redis-celery',
  'celery-priority-3': 's1-redis-celery\x06\x163',
  'celery-priority-6': 's2-redis-celery\x06\x166',
  'celery-priority-9': 's3-redis-celery\x06\x169',
  unacked: 's4-redis-unacked',
};
/** A different count on each key, so a trigger reading another's key fails. */
const COUNTS: Record<TriggerName, number> = { celery: 7, 'celery-priority-3': 3, 'celery-priority-6': 5, 'celery-priority-9': 1, unacked: 2 };
/** Tasks added to celery\x06\x166 for the HPA's step: 25 ask ceil(25 / 10) = 3 replicas. */
const PRIORITY_6_BURST = 20;

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');

let plane: ControlPlane | undefined;
let redis: RedisServer | undefined;
let client: Redis | undefined;
let objects: ChartObject[] = [];
let countersAtStart: Awaited<ReturnType<typeof hpaControllerCounters>> | undefined;
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const broker = (): Redis => {
  if (!client) throw new Error('redis-server did not start (see the beforeAll error)');
  return client;
};
const step = scenarioSteps(() => plane);
const get = (resource: string): Promise<any> => cluster().kubectl.getJson([resource, '-n', NS]);

/** `redis-keda celery-send` against the test's broker. */
async function send(count: number, options: { priority?: number; queue?: string } = {}): Promise<void> {
  const flags = ['--count', String(count), '--redis-host', '127.0.0.1', '--redis-port', String(redis!.port)];
  if (options.priority !== undefined) flags.push('--priority', String(options.priority));
  if (options.queue !== undefined) flags.push('--queue', options.queue);
  const result = await runCli(['celery-send', ...flags], { env: { REDIS_PASSWORD: PASSWORD, LOG_FORMAT: 'json' }, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`celery-send ${flags.join(' ')} exited ${result.code}: ${result.stderr}`);
}

/** What KEDA's redis scaler counts of each key (LLEN of the lists, HLEN of `unacked`), read now. */
async function keyCounts(): Promise<Record<TriggerName, number>> {
  const r = broker();
  const [celery, p3, p6, p9, unacked] = await Promise.all([
    r.llen(KEYS.celery),
    r.llen(KEYS['celery-priority-3']),
    r.llen(KEYS['celery-priority-6']),
    r.llen(KEYS['celery-priority-9']),
    r.hlen(KEYS.unacked),
  ]);
  return { celery, 'celery-priority-3': p3, 'celery-priority-6': p6, 'celery-priority-9': p9, unacked };
}

/** What KEDA's adapter serves for each trigger's metric, as numbers (it serves whole counts here). */
async function servedCounts(): Promise<Record<TriggerName, number>> {
  const entries = await Promise.all(
    (Object.keys(METRIC) as TriggerName[]).map(async (trigger) => {
      const values = await externalMetric(cluster(), NS, METRIC[trigger], NAME);
      if (values.length !== 1 || values[0].metricName !== METRIC[trigger]) throw new Error(`${METRIC[trigger]}: ${JSON.stringify(values)}`);
      return [trigger, Number(values[0].value)] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<TriggerName, number>;
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  client = new Redis(redis.port, '127.0.0.1', { password: PASSWORD, protocol: 2 });
  plane = await ControlPlane.start();
  await Keda.start(plane);
  countersAtStart = await hpaControllerCounters(plane);
  await plane.createRestrictedNamespace(NS);
  await createSecret(plane, NS, REDIS_AUTH_SECRET, { password: PASSWORD });
  const port = redis.port;
  objects = synthApp(plane, (app) => {
    const chart = new Chart(app, 'celery', { namespace: NS });
    const connection = loopbackRedis(chart, port, { name: 'redis' });
    const worker = new CeleryWorker(chart, 'worker', { name: NAME, connection, queues: ['celery'], concurrency: CONCURRENCY });
    new KedaScaledObject(chart, 'worker-scaler', {
      name: NAME,
      target: worker.deployment,
      triggers: worker.scalingTriggers({ tasksPerReplica: TASKS_PER_REPLICA }),
      minReplicas: 0,
      maxReplicas: 10,
      pollingInterval: Duration.seconds(1),
      cooldown: Duration.seconds(15),
      scaleDown: { stabilizationWindow: Duration.seconds(5) },
    });
  });
  await applyObjects(plane, objects);
}, 600_000);

afterAll(async () => {
  await client?.quit();
  await redis?.stop();
  await plane?.stop();
});

step('writes the priority list names as \\x06\\x16 escapes in double-quoted YAML, and the API server keeps their bytes', async () => {
  // The folder synthApp wrote (the only one of this run): one file for the chart, as `cdk8s synth` writes it.
  const [dir] = readdirSync(cluster().dir).filter((d) => d.startsWith('synth-'));
  const [file] = readdirSync(join(cluster().dir, dir)).filter((f) => f.endsWith('.yaml'));
  const text = readFileSync(join(cluster().dir, dir, file), 'utf8');
  const listNames = [...text.matchAll(/^ *listName: (.*)$/gm)].map((m) => m[1]);
  expect(listNames).toEqual(['celery', '"celery\\x06\\x163"', '"celery\\x06\\x166"', '"celery\\x06\\x169"', 'unacked']);

  const [so] = objectsOf(objects, 'ScaledObject');
  const stored = await get(`scaledobject.keda.sh/${NAME}`);
  for (const spec of [so.spec as any, stored.spec]) {
    expect(spec.triggers.map((t: any) => [t.name, hex(t.metadata.listName)])).toEqual(Object.entries(KEYS).map(([name, key]) => [name, hex(key)]));
  }
  expect(hex(KEYS['celery-priority-3'])).toBe('63656c6572790616' + '33');
});

step("is Ready; the HPA carries KEDA's five metric names, control characters and all, and the adapter serves each", async () => {
  const so = await waitFor(
    `ScaledObject ${NAME} Ready`,
    conditionsAre(() => get(`scaledobject.keda.sh/${NAME}`), { Ready: 'True', Active: 'False' }),
    60_000,
  );
  expect(conditionOf(so, 'Ready')).toEqual({ type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is defined correctly and is ready for scaling' });
  expect(so.status.externalMetricNames.map(hex)).toEqual(Object.values(METRIC).map(hex));
  const hpa = await get(`hpa/${HPA}`);
  expect(hpa.spec.metrics.map((m: any) => [hex(m.external.metric.name), m.external.target])).toEqual([
    [hex(METRIC.celery), { type: 'AverageValue', averageValue: '10' }],
    [hex(METRIC['celery-priority-3']), { type: 'AverageValue', averageValue: '10' }],
    [hex(METRIC['celery-priority-6']), { type: 'AverageValue', averageValue: '10' }],
    [hex(METRIC['celery-priority-9']), { type: 'AverageValue', averageValue: '10' }],
    [hex(METRIC.unacked), { type: 'AverageValue', averageValue: String(CONCURRENCY) }],
  ]);
  expect(await servedCounts()).toEqual({ celery: 0, 'celery-priority-3': 0, 'celery-priority-6': 0, 'celery-priority-9': 0, unacked: 0 });
});

step(`reads each key: with ${Object.values(COUNTS).join(', ')} on ${Object.keys(KEYS).join(', ')}, each metric is LLEN / HLEN of its key`, async () => {
  // Tasks as Python's apply_async sends them (priority 0 -> `celery`, 3 / 6 / 9 -> their lists).
  await Promise.all([
    send(COUNTS.celery),
    send(COUNTS['celery-priority-3'], { priority: 3 }),
    send(COUNTS['celery-priority-6'], { priority: 6 }),
    send(COUNTS['celery-priority-9'], { priority: 9 }),
  ]);
  // Two tasks taken and not acknowledged, as kombu records them after the pop: `unacked` tag -> [message, exchange, routing key].
  await send(COUNTS.unacked, { queue: 'taken' });
  for (let i = 0; i < COUNTS.unacked; i++) {
    const message = JSON.parse((await broker().rpop('taken'))!);
    const tag = message.properties.delivery_tag as string;
    await broker()
      .multi()
      .zadd(CeleryKeys.UNACKED_INDEX, Date.now() / 1000, tag)
      .hset(CeleryKeys.UNACKED, tag, JSON.stringify([message, '', 'celery']))
      .exec();
  }
  expect(await keyCounts()).toEqual(COUNTS);

  // Active: KEDA's operator takes the Deployment from 0 to 1.
  await waitFor(`Deployment ${NAME} at 1`, async () => ((await get(`deployment/${NAME}`)).spec.replicas === 1 ? true : undefined), 30_000);
  const served = await waitFor(
    'every metric equal to its count',
    async () => {
      const values = await servedCounts();
      if (JSON.stringify(values) === JSON.stringify(COUNTS)) return values;
      throw new Error(JSON.stringify(values));
    },
    20_000,
  );
  expect(served).toEqual(await keyCounts());
  // KEDA's own view, from its polls (a poll may predate the last key written): every trigger active.
  const byMetric = <T>(value: T) => Object.fromEntries(Object.values(METRIC).map((metric) => [metric, value]));
  const so = await waitFor(
    'every trigger active in the ScaledObject status',
    async () => {
      const found = await get(`scaledobject.keda.sh/${NAME}`);
      if (JSON.stringify(found.status.triggersActivity) === JSON.stringify(byMetric({ isActive: true }))) return found;
      throw new Error(JSON.stringify(found.status.triggersActivity));
    },
    10_000,
  );
  expect(conditionOf(so, 'Active')).toMatchObject({ status: 'True' });
  expect(so.status.triggersActivity).toEqual(byMetric({ isActive: true }));
});

step('the HPA accepts the names: ScalingActive True, its own readings equal the counts, no failed metric computation', async () => {
  // At 1 replica the per-pod average the HPA compares is the count itself. (On its first sync after KEDA's 0 -> 1 the
  // Deployment's status.replicas is still 0 and the HPA divides by it: that one reading is -9223372036854775808m.)
  const expected = Object.fromEntries(Object.entries(METRIC).map(([trigger, metric]) => [metric, String(COUNTS[trigger as TriggerName])]));
  const current = await hpaReadingsReach(cluster(), NS, HPA, expected, 30_000);
  expect(Object.entries(current).map(([metric, value]) => [hex(metric), value])).toEqual(Object.entries(expected).map(([metric, value]) => [hex(metric), value]));
  const hpa = await get(`hpa/${HPA}`);
  expect(conditionOf(hpa, 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
  expect(conditionOf(hpa, 'AbleToScale')).toMatchObject({ status: 'True' });
  // ceil(7/10), ceil(3/10), ceil(5/10), ceil(1/10), ceil(2/4): 1 each.
  expect(hpa.status.desiredReplicas).toBe(1);
  const { computations } = await hpaControllerCounters(cluster());
  const delta = counterDelta(countersAtStart!.computations, computations);
  expect(Object.keys(delta).filter((labels) => labels.includes('metric_type=External') && !labels.includes('error=none'))).toEqual([]);
  // At least one sync's worth (five metrics), all without error; the action label compares with the HPA's last status, so any.
  const external = Object.entries(delta).filter(([labels]) => labels.includes('metric_type=External'));
  expect(external.reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThanOrEqual(5);
  // No FailedGetExternalMetric / FailedComputeMetricsReplicas from the HPA, no warning from KEDA (pods' node events aside).
  const warnings = (await eventsOf(cluster(), NS)).filter((e) => e.type === 'Warning' && (e.kind === 'HorizontalPodAutoscaler' || e.kind === 'ScaledObject'));
  expect(warnings).toEqual([]);
});

step(`scales on a priority list: ${PRIORITY_6_BURST} more tasks in celery\\x06\\x166 (25) ask ceil(25 / 10) = 3 replicas`, async () => {
  await send(PRIORITY_6_BURST, { priority: 6 });
  const counts = { ...COUNTS, 'celery-priority-6': COUNTS['celery-priority-6'] + PRIORITY_6_BURST };
  expect(await keyCounts()).toEqual(counts);
  await waitFor(
    `Deployment ${NAME} and HPA ${HPA} at 3`,
    async () => {
      const [deployment, hpa] = await Promise.all([get(`deployment/${NAME}`), get(`hpa/${HPA}`)]);
      if (deployment.spec.replicas === 3 && hpa.status.desiredReplicas === 3) return true;
      throw new Error(`replicas ${deployment.spec.replicas}, desired ${hpa.status.desiredReplicas}`);
    },
    30_000,
  );
  expect(await servedCounts()).toEqual(counts);
  const rescales = (await eventsOf(cluster(), NS)).filter((e) => e.kind === 'HorizontalPodAutoscaler' && e.reason === 'SuccessfulRescale');
  expect(rescales.map((e) => hex(e.message.slice(0, e.message.indexOf('('))))).toEqual([hex(`New size: 3; reason: external metric ${METRIC['celery-priority-6']}`)]);
  // Per pod at 3 replicas, rounded up to a milli-unit: 7 / 3, 3 / 3, 25 / 3, 1 / 3, 2 / 3.
  const perPod = { celery: '2334m', 'celery-priority-3': '1', 'celery-priority-6': '8334m', 'celery-priority-9': '334m', unacked: '667m' };
  const readings = await hpaReadingsReach(cluster(), NS, HPA, Object.fromEntries(Object.entries(perPod).map(([trigger, value]) => [METRIC[trigger as TriggerName], value])));
  expect(Object.values(readings)).toEqual(Object.values(perPod));
});
