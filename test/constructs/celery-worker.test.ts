import * as fs from 'fs';
import * as path from 'path';
import { Chart, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as yaml from 'js-yaml';
import { CeleryWorker, CeleryWorkerProps, KedaScaledObject, RedisConnection, UnknownTaskPolicy } from '../../constructs';
import {
  celeryPriorityList,
  CeleryKeys,
  DEFAULT_CELERY_CONCURRENCY,
  DEFAULT_CELERY_RESULT_EXPIRES_SECONDS,
  DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS,
  Env,
  HEALTH_PATH,
  METRICS_PORT,
  READY_PATH,
} from '../../runtime/contract';
import { Doc, envOf, only, synth, testChart } from './helpers';

function connectionIn(chart: Chart): RedisConnection {
  return RedisConnection.external(chart, {
    name: 'cache',
    host: 'cache.example.net',
    port: 6380,
    tls: true,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
  });
}

function setup(props: Partial<CeleryWorkerProps> = {}, scaled: boolean | ((w: CeleryWorker) => unknown) = true) {
  const chart = testChart();
  const worker = new CeleryWorker(chart, 'worker', { connection: connectionIn(chart), ...props });
  if (scaled) {
    const triggers = typeof scaled === 'function' ? (scaled(worker) as any) : worker.scalingTriggers();
    new KedaScaledObject(chart, 'scaler', { target: worker.deployment, triggers });
  }
  return { chart, worker, docs: synth(chart) };
}

const containerOf = (docs: Doc[]) => only(docs, 'Deployment').spec.template.spec.containers[0];
const triggersOf = (docs: Doc[]) => only(docs, 'ScaledObject').spec.triggers as Doc[];

describe('CeleryWorker', () => {
  test('runs `celery-worker` with every setting in the env the runtime reads, probes on what it serves, grace matched', () => {
    const { docs } = setup({
      queues: ['celery', 'mail'],
      concurrency: 8,
      grace: Duration.seconds(45),
      visibilityTimeout: Duration.minutes(10),
      resultExpires: Duration.hours(1),
      unknownTask: 'requeue',
      tasks: '/app/tasks.js',
    });
    const d = only(docs, 'Deployment');
    expect(d.spec.replicas).toBeUndefined();
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(55);
    const c = containerOf(docs);
    expect(c.args).toEqual(['celery-worker']);
    expect(envOf(c)).toMatchObject({
      [Env.REDIS_HOST]: 'cache.example.net',
      [Env.REDIS_PORT]: '6380',
      [Env.REDIS_TLS]: 'true',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
      [Env.CELERY_QUEUES]: 'celery,mail',
      [Env.CELERY_CONCURRENCY]: '8',
      [Env.CELERY_VISIBILITY_TIMEOUT]: '600',
      [Env.CELERY_RESULT_EXPIRES]: '3600',
      [Env.CELERY_UNKNOWN_TASK]: 'requeue',
      [Env.CELERY_TASKS]: '/app/tasks.js',
      [Env.GRACE_SECONDS]: '45',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(c.resources.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  test("defaults: queue celery, Celery's visibility timeout and result expiry, unknown tasks fail", () => {
    const { docs, worker } = setup();
    expect(worker.queues).toEqual(['celery']);
    expect(worker.concurrency).toBe(DEFAULT_CELERY_CONCURRENCY);
    expect(containerOf(docs).args).toEqual(['celery-worker']);
    expect(envOf(containerOf(docs))[Env.CELERY_TASKS]).toBeUndefined();
    expect(envOf(containerOf(docs))).toMatchObject({
      [Env.CELERY_QUEUES]: 'celery',
      [Env.CELERY_CONCURRENCY]: String(DEFAULT_CELERY_CONCURRENCY),
      [Env.CELERY_VISIBILITY_TIMEOUT]: String(DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS),
      [Env.CELERY_RESULT_EXPIRES]: String(DEFAULT_CELERY_RESULT_EXPIRES_SECONDS),
      [Env.CELERY_UNKNOWN_TASK]: 'fail',
      [Env.GRACE_SECONDS]: '30',
    });
    expect(only(docs, 'Deployment').spec.template.spec.terminationGracePeriodSeconds).toBe(40);
  });

  test('the worker is named after its pod: POD_NAME from the downward API, no fixed CELERY_HOSTNAME', () => {
    const env = envOf(containerOf(setup().docs));
    expect(env[Env.POD_NAME]).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env[Env.CELERY_HOSTNAME]).toBeUndefined();
  });

  test('resultExpires 0 keeps results forever', () => {
    expect(envOf(containerOf(setup({ resultExpires: Duration.seconds(0) }).docs))[Env.CELERY_RESULT_EXPIRES]).toBe('0');
  });

  test('scaling triggers: each queue, its priority lists and the unacked hash, one TriggerAuthentication', () => {
    const { docs } = setup({ queues: ['celery', 'mail'], concurrency: 6 }, (w) => w.scalingTriggers({ tasksPerReplica: 20 }));
    const q = (queue: string) => [[queue, queue, '20'], ...[3, 6, 9].map((p) => [`${queue}-priority-${p}`, celeryPriorityList(queue, p), '20'])];
    expect(triggersOf(docs).map((t) => [t.name, t.metadata.listName, t.metadata.listLength])).toEqual([
      [...q('celery')][0],
      [...q('mail')][0],
      ...q('celery').slice(1),
      ...q('mail').slice(1),
      ['unacked', CeleryKeys.UNACKED, '6'],
    ]);
    const auth = only(docs, 'TriggerAuthentication');
    for (const t of triggersOf(docs)) {
      expect(t.type).toBe('redis');
      expect(t.metadata).toMatchObject({ address: 'cache.example.net:6380', enableTLS: 'true' });
      expect(t.authenticationRef).toEqual({ name: auth.metadata.name });
    }
  });

  test('without priorities: the queue and unacked only; unacked weighed as asked; single triggers take their options', () => {
    expect(triggersOf(setup({}, (w) => w.scalingTriggers({ priorities: false, unackedPerReplica: 50 })).docs).map((t) => [t.metadata.listName, t.metadata.listLength])).toEqual([
      ['celery', '10'],
      ['unacked', '50'],
    ]);
    const { docs } = setup({ queues: ['a', 'b'] }, (w) => [w.queueTrigger({ queue: 'b', listLength: 3, activationListLength: 2 }), w.unackedTrigger({ listLength: 7 })]);
    expect(triggersOf(docs).map((t) => t.metadata)).toEqual([
      expect.objectContaining({ listName: 'b', listLength: '3', activationListLength: '2' }),
      expect.objectContaining({ listName: 'unacked', listLength: '7' }),
    ]);
  });

  test("kombu's priority list names survive the YAML cdk8s writes, byte for byte", () => {
    const app = Testing.app();
    const chart = new Chart(app, 'celery', { namespace: 'test-ns' });
    const worker = new CeleryWorker(chart, 'worker', { connection: connectionIn(chart) });
    new KedaScaledObject(chart, 'scaler', { target: worker.deployment, triggers: worker.priorityTriggers() });
    app.synth();
    const files = fs.readdirSync(app.outdir).map((f) => fs.readFileSync(path.join(app.outdir, f), 'utf8'));
    const so = files.flatMap((text) => yaml.loadAll(text) as Doc[]).find((d) => d?.kind === 'ScaledObject')!;
    const names = so.spec.triggers.map((t: Doc) => t.metadata.listName as string);
    expect(names.map((n: string) => Buffer.from(n).toString('hex'))).toEqual(['celery\x06\x163', 'celery\x06\x166', 'celery\x06\x169'].map((n) => Buffer.from(n).toString('hex')));
    // Written as escapes in double quotes, never as raw control bytes.
    // eslint-disable-next-line no-control-regex -- control bytes are what must not appear
    expect(files.join('')).not.toMatch(/[\x00-\x08\x0b-\x1f]/);
  });

  test('a PodMonitor scrapes the metrics port of exactly these pods', () => {
    const { docs } = setup({ podMonitor: true, name: 'celery' });
    const pm = only(docs, 'PodMonitor');
    expect(pm.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    expect(only(docs, 'Deployment').spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
  });

  test('unscaled workers keep explicit replicas', () => {
    expect(only(setup({ replicas: 3 }, false).docs, 'Deployment').spec.replicas).toBe(3);
  });

  test.each([
    ['concurrency 0', { concurrency: 0 }, "test/worker: 'concurrency' (0) must be at least 1"],
    ['concurrency 1.5', { concurrency: 1.5 }, "'concurrency' (1.5) must be an integer"],
    ['replicas -1', { replicas: -1 }, "'replicas' (-1) must be at least 0"],
    ['name', { name: 'Celery_Worker' }, `'name' ("Celery_Worker") must be a DNS-1123 label`],
    ['no queues', { queues: [] }, `'queues' ("[]") must name at least one queue`],
    ['empty queue', { queues: [''] }, `'queues' ("") must be a queue name without commas or white space`],
    ['queue with a comma', { queues: ['a,b'] }, `'queues' ("a,b") must be a queue name without commas or white space`],
    ['a priority list as queue', { queues: ['celery\x06\x163'] }, 'must be a bare queue name; its priority lists are consumed with it'],
    ['unacked as queue', { queues: ['unacked'] }, `'queues' ("unacked") must not be one of kombu's bookkeeping keys`],
    ['queue twice', { queues: ['a', 'a'] }, `'queues' ("a") must not be listed twice`],
    ['queues with one trigger name', { queues: ['mail.in', 'mail-in'] }, `'queues' ("mail-in") gives the KEDA trigger name "mail-in" that another trigger has`],
    ['a queue named like the unacked trigger', { queues: ['Unacked'] }, `'queues' ("Unacked") gives the KEDA trigger name "unacked" that another trigger has`],
    ['visibilityTimeout 0', { visibilityTimeout: Duration.seconds(0) }, `'visibilityTimeout' ("0s") must be a whole number of seconds, at least 1`],
    ['visibilityTimeout 1.5 s', { visibilityTimeout: Duration.millis(1500) }, `'visibilityTimeout' ("1.5s") must be a whole number of seconds`],
    ['resultExpires 1.5 s', { resultExpires: Duration.millis(1500) }, `'resultExpires' ("1.5s") must be a whole number of seconds, at least 0`],
    ['grace 0.5 s', { grace: Duration.millis(500) }, `'grace' ("0.5s") must be a whole number of seconds, at least 0`],
    ['unknownTask', { unknownTask: 'drop' as UnknownTaskPolicy }, `'unknownTask' ("drop") must be one of "fail", "requeue"`],
    ['tasks relative', { tasks: 'tasks.js' }, `'tasks' ("tasks.js") must be an absolute path inside the image`],
    ['image unpinned', { image: 'example/worker' }, `'image' ("example/worker") must name a pinned tag or digest`],
  ])('rejects %s, naming the prop and value', (_n, props, message) => {
    expect(() => setup(props as Partial<CeleryWorkerProps>, false)).toThrow(message);
  });

  test.each([
    ['tasksPerReplica 0', { tasksPerReplica: 0 }, "test/worker: 'tasksPerReplica' (0) must be at least 1"],
    ['unackedPerReplica 2.5', { unackedPerReplica: 2.5 }, "test/worker: 'unackedPerReplica' (2.5) must be an integer"],
  ])('scalingTriggers rejects %s', (_n, options, message) => {
    expect(() => setup({}, (w) => w.scalingTriggers(options))).toThrow(message);
  });

  test('rejects a trigger on a queue the worker does not consume', () => {
    expect(() => setup({}, (w) => [w.queueTrigger({ queue: 'other' })])).toThrow(`test/worker: 'queue' ("other") must be one of the worker's queues (celery)`);
  });
});
