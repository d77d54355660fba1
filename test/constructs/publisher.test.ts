import { Duration } from 'cdk8s';
import { Publisher, RedisQueue } from '../../constructs';
import { Env, HEALTH_PATH, METRICS_PORT, READY_PATH } from '../../runtime/contract';
import { envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<ConstructorParameters<typeof Publisher>[2]> = {}) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'queue', { name: 'redis', listName: 'jobs' });
  new Publisher(chart, 'publisher', { queue, ...props });
  return synth(chart);
}

describe('Publisher', () => {
  test('runs `publish --forever` with the queue and batch settings in the env the runtime reads', () => {
    const deployment = only(setup({ batchSize: 7, interval: Duration.millis(2500), waitMin: 1, waitMax: 3 }), 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    const c = deployment.spec.template.spec.containers[0];
    expect(c.args).toEqual(['publish', '--forever']);
    expect(envOf(c)).toMatchObject({
      [Env.REDIS_HOST]: 'redis.test-ns.svc',
      [Env.REDIS_PORT]: '6379',
      [Env.LIST_NAME]: 'jobs',
      [Env.PUBLISH_BATCH]: '7',
      [Env.PUBLISH_INTERVAL]: '2.5',
      [Env.WAIT_MIN]: '1',
      [Env.WAIT_MAX]: '3',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
  });

  test('probes hit the health endpoint the program serves', () => {
    const c = only(setup(), 'Deployment').spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(c.ports).toEqual([{ containerPort: METRICS_PORT, name: 'metrics' }]);
  });

  test.each([
    ['batchSize 0', { batchSize: 0 }, /'batchSize' \(0\) must be at least 1/],
    ['waitMin -1', { waitMin: -1 }, /'waitMin' \(-1\) must be at least 0/],
    ['waitMax < waitMin', { waitMin: 5, waitMax: 2 }, /'waitMax' \(2\) must be at least 'waitMin' \(5\)/],
    ['image', { image: 'x' }, /'image' \("x"\) must name a pinned tag/],
  ])('rejects %s', (_n, props, message) => {
    expect(() => setup(props as any)).toThrow(message);
  });
});
