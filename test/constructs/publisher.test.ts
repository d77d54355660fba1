import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Publisher, RedisQueue } from '../../constructs';
import { Env, HEALTH_PATH, METRICS_PORT, RATE_DIR, RATE_FILE, READY_PATH } from '../../runtime/contract';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { all, envOf, only, synth, testChart } from './helpers';

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

  test('rate: PUBLISH_RATE instead of PUBLISH_INTERVAL; no volume, no Reloader annotation', () => {
    const deployment = only(setup({ rate: 12.5, batchSize: 5 }), 'Deployment');
    const env = envOf(deployment.spec.template.spec.containers[0]);
    expect(env).toMatchObject({ [Env.PUBLISH_RATE]: '12.5', [Env.PUBLISH_BATCH]: '5' });
    expect(env[Env.PUBLISH_INTERVAL]).toBeUndefined();
    expect(env[Env.PUBLISH_RATE_FILE]).toBeUndefined();
    expect(deployment.spec.template.spec.volumes).toBeUndefined();
    expect(deployment.metadata.annotations).toBeUndefined();
  });

  test.each([true, false])('rateConfigMap created (named %s): holds the rate, mounted read-only as a directory (no subPath), PUBLISH_RATE_FILE names the file', (named) => {
    const docs = setup({ rate: 20, rateConfigMap: {}, name: named ? 'publisher' : undefined });
    expect(referenceViolations(docs)).toEqual([]);
    const deployment = only(docs, 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    const rateMap = all(docs, 'ConfigMap').find((c) => c.data?.rate !== undefined)!;
    expect(rateMap.data).toEqual({ rate: '20' });
    if (named) expect(rateMap.metadata.name).toBe('publisher-rate');
    expect(pod.volumes).toEqual([{ name: 'rate', configMap: { name: rateMap.metadata.name, items: [{ key: 'rate', path: 'rate' }] } }]);
    const c = pod.containers[0];
    expect(c.volumeMounts).toEqual([{ name: 'rate', mountPath: RATE_DIR, readOnly: true }]);
    expect(envOf(c)).toMatchObject({ [Env.PUBLISH_RATE_FILE]: RATE_FILE, [Env.PUBLISH_RATE]: '20' });
    expect(envOf(c)[Env.PUBLISH_INTERVAL]).toBeUndefined();
  });

  test('rateConfigMap of an existing ConfigMap and key: only mounted, the key mapped to the file', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { name: 'redis' });
    new Publisher(chart, 'publisher', { queue, rateConfigMap: { configMap: kplus.ConfigMap.fromConfigMapName(chart, 'cm', 'producer-settings'), key: 'events-per-second' } });
    const docs = synth(chart);
    expect(all(docs, 'ConfigMap').map((c) => c.metadata.name)).not.toContain('producer-settings');
    const pod = only(docs, 'Deployment').spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'rate', configMap: { name: 'producer-settings', items: [{ key: 'events-per-second', path: 'rate' }] } }]);
    expect(envOf(pod.containers[0])[Env.PUBLISH_RATE]).toBeUndefined();
  });

  test.each([
    [{}, { 'reloader.stakater.com/auto': 'true' }],
    [{ rate: 5, rateConfigMap: {} }, { 'secret.reloader.stakater.com/auto': 'true' }],
  ])('reloadOnChange with %j: the Reloader annotation %j on the Deployment', (props, annotations) => {
    expect(only(setup({ ...props, reloadOnChange: true }), 'Deployment').metadata.annotations).toEqual(annotations);
  });

  test.each([
    ['batchSize 0', { batchSize: 0 }, /'batchSize' \(0\) must be at least 1/],
    ['waitMin -1', { waitMin: -1 }, /'waitMin' \(-1\) must be at least 0/],
    ['waitMax < waitMin', { waitMin: 5, waitMax: 2 }, /'waitMax' \(2\) must be at least 'waitMin' \(5\)/],
    ['image', { image: 'x' }, /'image' \("x"\) must name a pinned tag/],
    ['rate 0', { rate: 0 }, /test\/publisher: 'rate' \(0\) must be a number of events per second above 0 and at most 1000000/],
    ['rate NaN', { rate: NaN }, /'rate' \(NaN\) must be a number/],
    ['rate with interval', { rate: 5, interval: Duration.seconds(1) }, /'interval' \("1000ms"\) must not be given with 'rate'/],
    ['rateConfigMap with interval', { rateConfigMap: { configMap: {} as any }, interval: Duration.seconds(1) }, /'interval' \("1000ms"\) must not be given with 'rateConfigMap'/],
    ['rateConfigMap without a rate to create it with', { rateConfigMap: {} }, /'rateConfigMap' \("\{\}"\) must name an existing 'configMap', or come with 'rate'/],
    ['a bad key', { rate: 1, rateConfigMap: { key: '..data' } }, /'rateConfigMap.key' \("..data"\) must be a ConfigMap key/],
  ])('rejects %s', (_n, props, message) => {
    expect(() => setup(props as any)).toThrow(message);
  });
});
