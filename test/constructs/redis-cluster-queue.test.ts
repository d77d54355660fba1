import * as kplus from 'cdk8s-plus-27';
import { CeleryProducer, CeleryWorker, KedaScaledObject, QueueWorker, RedisCluster } from '../../constructs';
import { Env } from '../../runtime/contract';
import { all, envOf, only, synth, testChart } from './helpers';

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
    expect(() => setup('events')).toThrow(`test/worker: 'listName' ("events") must carry a hash tag on a Redis Cluster, e.g. '{events}', so the queue's keys share one slot`);
  });

  test('the Celery constructs refuse a cluster connection', () => {
    const chart = testChart();
    const cluster = new RedisCluster(chart, 'cache', { name: 'cache' });
    const why = `'connection' ("${SEEDS}") must be a single Redis server, not a Redis Cluster: Celery's (kombu's) keys of one queue lie in different slots`;
    expect(() => new CeleryWorker(chart, 'celery', { connection: cluster.connection })).toThrow(`test/celery: ${why}`);
    expect(() => new CeleryProducer(chart, 'send', { connection: cluster.connection })).toThrow(`test/send: ${why}`);
  });
});
