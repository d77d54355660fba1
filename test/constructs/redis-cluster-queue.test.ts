import * as kplus from 'cdk8s-plus-27';
import { CeleryProducer, CeleryWorker, KedaScaledJob, KedaScaledObject, Publisher, QueueExporter, QueueWorker, RedisCluster } from '../../constructs';
import { Commands, Env, flag, Options, QueueCommands } from '../../runtime/contract';
import { chartRuleViolations } from '../manifests/house-rules';
import { referenceViolations } from '../manifests/references';
import { all, Doc, envOf, only, synth, testChart } from './helpers';

const SEEDS = [0, 1, 2, 3, 4, 5].map((i) => `cache-${i}.cache-headless.test-ns.svc:6379`).join(',');

function setup(listName: string) {
  const chart = testChart();
  const cluster = new RedisCluster(chart, 'cache', { name: 'cache', password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' } });
  const worker = new QueueWorker(chart, 'worker', { queue: { connection: cluster.connection, listName } });
  new KedaScaledObject(chart, 'scaler', { target: worker.deployment, triggers: worker.scalingTriggers({ eventsPerReplica: 5 }) });
  return { cluster, docs: synth(chart) };
}

describe('a queue on a RedisCluster', () => {
  test("workers get the cluster's seed nodes and password; KEDA's redis-cluster triggers see ready, in-flight and delayed work", () => {
    const { cluster, docs } = setup('{events}');
    expect(cluster.connection.clusterNodes?.join(',')).toBe(SEEDS);
    const env = envOf(only(docs, 'Deployment').spec.template.spec.containers[0]);
    expect(env[Env.REDIS_CLUSTER_NODES]).toBe(SEEDS);
    expect(env[Env.LIST_NAME]).toBe('{events}');
    expect(env[Env.REDIS_HOST]).toBeUndefined();
    expect(env[Env.REDIS_PASSWORD]).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
    const so = only(docs, 'ScaledObject');
    expect(so.spec.triggers.map((t: any) => [t.type, t.name, t.metadata])).toEqual(
      [
        ['ready', '{events}', '5'],
        ['inflight', '{events}:inflight', '4'],
        ['delayed', '{events}:delayed', '100'],
      ].map(([name, listName]) => ['redis-cluster', name, expect.objectContaining({ addresses: SEEDS, listName })]),
    );
    const auth = only(docs, 'TriggerAuthentication');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'redis-auth', key: 'password' }]);
    expect(so.spec.triggers.map((t: any) => t.authenticationRef.name)).toEqual([auth.metadata.name, auth.metadata.name, auth.metadata.name]);
    expect(all(docs, 'ScaledObject')).toHaveLength(1);
  });

  test('a list without a hash tag is rejected: its keys would lie in different slots', () => {
    expect(() => setup('events')).toThrow(`test/worker: 'queue.listName' ("events") must carry a hash tag on a Redis Cluster, e.g. '{events}', so the queue's keys share one slot`);
  });

  test('the Celery constructs refuse a cluster connection', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cache', { name: 'cache' });
    const why = `'connection' ("${SEEDS}") must be a single Redis server, not a Redis Cluster: Celery's (kombu's) keys of one queue lie in different slots`;
    expect(() => new CeleryWorker(chart, 'celery', { connection: cluster.connection })).toThrow(`test/celery: ${why}`);
    expect(() => new CeleryProducer(chart, 'send', { connection: cluster.connection })).toThrow(`test/send: ${why}`);
  });
});

describe('RedisCluster.queue(): a queue handle for QueueWorker, KedaScaledJob, Publisher and QueueExporter', () => {
  describe.each([
    ['explicit names', (n: string) => n],
    ['generated names', () => undefined],
  ])('with %s', (_label, name) => {
    function build() {
      const chart = testChart();
      const password = { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' };
      const cluster = new RedisCluster(chart, 'cache', { name: name('cache'), password, networkPolicy: {}, operations: { jobTemplates: false, createJob: false } });
      const queue = cluster.queue('{events}');
      const worker = new QueueWorker(chart, 'worker', { name: name('worker'), queue });
      new KedaScaledObject(chart, 'scaler', {
        name: name('scaler'),
        target: worker.deployment,
        triggers: [queue.listTrigger({ listLength: 5 }), queue.inflightTrigger({ listLength: 4 })],
      });
      const jobs = new KedaScaledJob(chart, 'jobs', {
        name: name('jobs'),
        triggers: [queue.listTrigger({ listLength: 1 }), queue.delayedTrigger()],
        container: { args: [Commands.CONSUME, flag(Options.ONCE)], envVariables: queue.envVariables() },
      });
      new Publisher(chart, 'publisher', { name: name('publisher'), queue, rate: 10 });
      new QueueExporter(chart, 'exporter', { name: name('exporter'), queues: [queue] });
      return { cluster, queue, jobs, docs: synth(chart) };
    }

    test("every program gets the cluster's seeds, the password from the Secret and the tagged list; KEDA's redis-cluster triggers use addresses and the TriggerAuthentication", () => {
      const { cluster, queue, docs } = build();
      expect(queue.listName).toBe('{events}');
      expect(queue.connection).toBe(cluster.connection);
      const seeds = cluster.seedAddresses.join(',');
      const containers: Doc[] = [
        ...all(docs, 'Deployment').map((d) => d.spec.template.spec.containers[0]),
        only(docs, 'ScaledJob').spec.jobTargetRef.template.spec.containers[0],
        only(docs, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0],
      ];
      expect(containers).toHaveLength(5);
      for (const c of containers) {
        const env = envOf(c);
        expect(env[Env.REDIS_CLUSTER_NODES]).toBe(seeds);
        expect(env[Env.REDIS_HOST]).toBeUndefined();
        expect(env[Env.REDIS_PASSWORD]).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
      }
      // The reaper of the Jobs' list, on the cluster too.
      expect(only(docs, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0].args).toEqual([Commands.QUEUE, QueueCommands.REAP]);
      expect(envOf(containers[containers.length - 1])[Env.LIST_NAME]).toBe('{events}');

      const auth = only(docs, 'TriggerAuthentication');
      expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'redis-auth', key: 'password' }]);
      const triggers = [...only(docs, 'ScaledObject').spec.triggers, ...only(docs, 'ScaledJob').spec.triggers];
      expect(triggers.map((t: Doc) => [t.type, t.metadata.listName, t.metadata.listLength])).toEqual([
        ['redis-cluster', '{events}', '5'],
        ['redis-cluster', '{events}:inflight', '4'],
        ['redis-cluster', '{events}', '1'],
        ['redis-cluster', '{events}:delayed', '5'],
      ]);
      for (const t of triggers) {
        expect(t.metadata.addresses).toBe(seeds);
        expect(t.metadata.address).toBeUndefined();
        expect(t.authenticationRef).toEqual({ name: auth.metadata.name });
      }
    });

    test('every reference resolves, and the NetworkPolicy admits every program of the queue', () => {
      const { docs } = build();
      expect(referenceViolations(docs, { externalSecrets: ['redis-auth'] })).toEqual([]);
      expect(chartRuleViolations(docs)).toEqual([]);
      const admitted = only(docs, 'NetworkPolicy').spec.ingress[0].from.map((p: Doc) => JSON.stringify(p.podSelector?.matchLabels));
      const pods = [
        ...all(docs, 'Deployment').map((d) => d.spec.template.metadata.labels),
        only(docs, 'ScaledJob').spec.jobTargetRef.template.metadata.labels,
        only(docs, 'CronJob').spec.jobTemplate.spec.template.metadata.labels,
      ];
      for (const labels of pods) {
        expect(admitted.some((a: string | undefined) => a !== undefined && Object.entries(JSON.parse(a)).every(([k, v]) => labels[k] === v))).toBe(true);
      }
    });
  });

  test('bad list names are rejected, naming the path, the prop and the value', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cache');
    expect(() => cluster.queue('events')).toThrow(
      `test/cache: 'listName' ("events") must carry a hash tag on a Redis Cluster, e.g. '{events}', so the queue's keys share one slot`,
    );
    expect(() => cluster.queue('{}events')).toThrow(`test/cache: 'listName' ("{}events") must carry a hash tag`);
    expect(() => cluster.queue('')).toThrow(`test/cache: 'listName' ("") must be a non-empty key without white space`);
    expect(() => cluster.queue('{ev ents}')).toThrow(`test/cache: 'listName' ("{ev ents}") must be a non-empty key without white space`);
    // A hand-made queue on the cluster's connection is checked where it is used.
    const untagged = { connection: cluster.connection, listName: 'jobs' };
    expect(() => new Publisher(chart, 'publisher', { queue: untagged })).toThrow(
      `test/publisher: 'queue.listName' ("jobs") must carry a hash tag on a Redis Cluster, e.g. '{jobs}'`,
    );
    expect(() => new QueueWorker(chart, 'worker', { queue: untagged })).toThrow(`test/worker: 'queue.listName' ("jobs") must carry a hash tag on a Redis Cluster, e.g. '{jobs}'`);
  });
});
