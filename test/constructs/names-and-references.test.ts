import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { CeleryProducer, CeleryWorker, KedaScaledJob, KedaScaledObject, Publisher, QueueExporter, QueueWorker, RedisCluster, RedisConnection, RedisQueue } from '../../constructs';
import { referenceViolations } from '../manifests/references';
import { Doc, synth, testChart } from './helpers';

/** Each construct in a small app of its own, built with the given `name` props (or none). */
type Build = (chart: Construct, name: (n: string) => string | undefined) => void;

const password = (scope: Construct) => ({ secret: kplus.Secret.fromSecretName(scope, 'pw', 'redis-auth'), key: 'password' });
const queue = (chart: Construct, name: (n: string) => string | undefined) =>
  new RedisQueue(chart, 'queue', { name: name('redis'), password: password(chart), persistence: { size: Size.gibibytes(1) }, exporter: {} });
const external = (chart: Construct, name: (n: string) => string | undefined) =>
  RedisConnection.external(chart, {
    name: name('redis'),
    host: 'cache.example.com',
    port: 6380,
    password: password(chart),
    tlsCa: { secret: kplus.Secret.fromSecretName(chart, 'ca', 'redis-ca'), key: 'ca.crt' },
  });

const builds: Record<string, Build> = {
  RedisQueue: (chart, name) => {
    queue(chart, name);
  },
  RedisCluster: (chart, name) => {
    new RedisCluster(chart, 'cluster', { name: name('cluster'), password: password(chart), exporter: { podMonitor: true }, networkPolicy: {}, consistencyChecker: {} });
  },
  'QueueWorker and KedaScaledJob on a RedisCluster queue': (chart, name) => {
    const cluster = new RedisCluster(chart, 'cluster', { name: name('cluster'), password: password(chart), operations: { createJob: false, jobTemplates: false } });
    const events = cluster.queue('{events}');
    const worker = new QueueWorker(chart, 'worker', { name: name('worker'), queue: events });
    new KedaScaledObject(chart, 'scaler', { name: name('worker'), target: worker.deployment, triggers: worker.scalingTriggers() });
    new KedaScaledJob(chart, 'consumer', {
      name: name('consumer'),
      triggers: [events.listTrigger()],
      container: { args: ['consume', '--once'], envVariables: events.envVariables() },
    });
  },
  Publisher: (chart, name) => {
    new Publisher(chart, 'publisher', { name: name('publisher'), queue: queue(chart, name) });
  },
  'Publisher with a rate ConfigMap': (chart, name) => {
    new Publisher(chart, 'publisher', { name: name('publisher'), queue: queue(chart, name), rate: 20, rateConfigMap: {}, reloadOnChange: true });
  },
  'QueueExporter of two lists': (chart, name) => {
    const q = queue(chart, name);
    new QueueExporter(chart, 'exporter', { name: name('exporter'), queues: [q, { connection: q.connection, listName: 'orders' }], podMonitor: true });
  },
  KedaScaledJob: (chart, name) => {
    const q = queue(chart, name);
    new KedaScaledJob(chart, 'consumer', {
      name: name('consumer'),
      triggers: [q.listTrigger({ listLength: 1 })],
      container: { args: ['consume', '--once'], envVariables: q.envVariables() },
    });
  },
  'QueueWorker + KedaScaledObject': (chart, name) => {
    const worker = new QueueWorker(chart, 'worker', { name: name('worker'), queue: queue(chart, name), podMonitor: true });
    new KedaScaledObject(chart, 'scaler', { name: name('worker'), target: worker.deployment, triggers: worker.scalingTriggers() });
  },
  'CeleryWorker + KedaScaledObject': (chart, name) => {
    const worker = new CeleryWorker(chart, 'worker', { name: name('celery'), connection: external(chart, name), podMonitor: true });
    new KedaScaledObject(chart, 'scaler', { name: name('celery'), target: worker.deployment, triggers: worker.scalingTriggers() });
  },
  CeleryProducer: (chart, name) => {
    new CeleryProducer(chart, 'producer', { name: name('producer'), connection: external(chart, name) });
  },
  'KedaScaledObject on a plain Deployment': (chart, name) => {
    const q = queue(chart, name);
    const deployment = new kplus.Deployment(chart, 'own', {
      containers: [{ image: 'example/worker:1.0', envVariables: q.envVariables(), resources: {} }],
    });
    new KedaScaledObject(chart, 'scaler', { name: name('own'), target: deployment, triggers: [q.listTrigger({ addressFromEnv: true })] });
  },
};

/** The kinds each build writes: what the reference check below runs over. */
const KINDS: Record<string, string[]> = {
  RedisQueue: ['ConfigMap', 'Service', 'StatefulSet'],
  RedisCluster: [
    'ConfigMap',
    ...Array(6).fill('CronJob'),
    'Deployment',
    'Job',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'PodMonitor',
    'PodMonitor',
    'Role',
    'RoleBinding',
    'Service',
    'Service',
    'ServiceAccount',
    'StatefulSet',
  ],
  'QueueWorker and KedaScaledJob on a RedisCluster queue': [
    'ConfigMap',
    'CronJob',
    'Deployment',
    'PodDisruptionBudget',
    'Role',
    'RoleBinding',
    'ScaledJob',
    'ScaledObject',
    'Service',
    'Service',
    'ServiceAccount',
    'StatefulSet',
    'TriggerAuthentication',
  ],
  Publisher: ['ConfigMap', 'Deployment', 'Service', 'StatefulSet'],
  'Publisher with a rate ConfigMap': ['ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'StatefulSet'],
  'QueueExporter of two lists': ['ConfigMap', 'Deployment', 'PodMonitor', 'Service', 'Service', 'StatefulSet'],
  KedaScaledJob: ['ConfigMap', 'CronJob', 'ScaledJob', 'Service', 'StatefulSet', 'TriggerAuthentication'],
  'QueueWorker + KedaScaledObject': ['ConfigMap', 'Deployment', 'PodMonitor', 'ScaledObject', 'Service', 'StatefulSet', 'TriggerAuthentication'],
  'CeleryWorker + KedaScaledObject': ['Deployment', 'PodMonitor', 'ScaledObject', 'TriggerAuthentication'],
  CeleryProducer: ['Deployment'],
  'KedaScaledObject on a plain Deployment': ['ConfigMap', 'Deployment', 'ScaledObject', 'Service', 'StatefulSet', 'TriggerAuthentication'],
};

function build(b: Build, named: boolean, namespace: string | null = 'test-ns'): Doc[] {
  const chart = testChart(namespace);
  b(chart, (n) => (named ? n : undefined));
  return synth(chart);
}

const externalSecrets = ['redis-auth', 'redis-ca'];

describe.each(Object.entries(builds))('%s', (kind, b) => {
  test('without any name: every object named, every reference resolves', () => {
    const docs = build(b, false);
    expect(docs.map((d) => d.kind).sort()).toEqual(KINDS[kind]);
    expect(referenceViolations(docs, { externalSecrets })).toEqual([]);
  });

  test('with names: the same, and the given names are the ones written', () => {
    const docs = build(b, true);
    expect(referenceViolations(docs, { externalSecrets })).toEqual([]);
    // cdk8s's generated names end in an 8-digit hash; only the app's own plain Deployment ("own") has one here.
    const generated = docs.filter((d) => /-[0-9a-f]{8}$/.test(d.metadata.name)).map((d) => `${d.kind}/${d.metadata.name}`);
    expect(generated).toEqual(docs.filter((d) => d.kind === 'Deployment' && d.metadata.name.includes('-own-')).map((d) => `${d.kind}/${d.metadata.name}`));
  });
});

test('the RedisQueue without a name: env, trigger and volume point at the generated names', () => {
  const chart = testChart('jobs');
  const q = new RedisQueue(chart, 'queue', { password: password(chart) });
  new KedaScaledJob(chart, 'consumer', { triggers: [q.listTrigger()], container: { args: ['consume', '--once'], envVariables: q.envVariables() } });
  const docs = synth(chart);
  const service = docs.find((d) => d.kind === 'Service')!;
  const config = docs.find((d) => d.kind === 'ConfigMap')!;
  const auth = docs.find((d) => d.kind === 'TriggerAuthentication')!;
  const job = docs.find((d) => d.kind === 'ScaledJob')!;
  const sts = docs.find((d) => d.kind === 'StatefulSet')!;
  expect(service.metadata.name).toBe(q.service.name);
  const env = Object.fromEntries(job.spec.jobTargetRef.template.spec.containers[0].env.map((e: Doc) => [e.name, e.value]));
  expect(env.REDIS_HOST).toBe(`${service.metadata.name}.jobs.svc`);
  expect(job.spec.triggers[0].metadata.address).toBe(`${service.metadata.name}.jobs.svc:6379`);
  expect(job.spec.triggers[0].authenticationRef).toEqual({ name: auth.metadata.name });
  expect(sts.spec.template.spec.volumes.find((v: Doc) => v.name === 'config').configMap.name).toBe(config.metadata.name);
  const cron = docs.find((d) => d.kind === 'CronJob')!;
  expect(cron.metadata.name.length).toBeLessThanOrEqual(52);
});

test('two unnamed worker fleets in one chart: each PodMonitor selects its own pods only', () => {
  const chart = testChart();
  const q = queue(chart, () => undefined);
  const a = new Construct(chart, 'a');
  const b = new Construct(chart, 'b');
  new QueueWorker(a, 'worker', { queue: q, podMonitor: true });
  new QueueWorker(b, 'worker', { queue: q, podMonitor: true });
  const docs = synth(chart);
  const monitors = docs.filter((d) => d.kind === 'PodMonitor').map((d) => d.spec.selector.matchLabels['app.kubernetes.io/name']);
  expect(new Set(monitors).size).toBe(2);
  expect(referenceViolations(docs, { externalSecrets })).toEqual([]);
});
