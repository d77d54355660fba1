import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CeleryProducer, CeleryProducerProps, RedisConnection } from '../../constructs';
import { DEFAULT_CELERY_QUEUE, DEMO_CELERY_TASK, Env, HEALTH_PATH, METRICS_PORT, READY_PATH } from '../../runtime/contract';
import { envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<CeleryProducerProps> = {}) {
  const chart = testChart();
  const connection = RedisConnection.external(chart, {
    host: 'cache.example.net',
    port: 6380,
    tls: true,
    password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
  });
  new CeleryProducer(chart, 'producer', { connection, ...props });
  return synth(chart);
}

describe('CeleryProducer', () => {
  test('one replica of `celery-send --forever` with queue, task and interval in the env the runtime reads', () => {
    const d = only(setup({ queue: 'mail', task: 'mail.send', interval: Duration.millis(250) }), 'Deployment');
    expect(d.spec.replicas).toBe(1);
    const c = d.spec.template.spec.containers[0];
    expect(c.args).toEqual(['celery-send', '--forever']);
    expect(envOf(c)).toMatchObject({
      [Env.REDIS_HOST]: 'cache.example.net',
      [Env.REDIS_PORT]: '6380',
      [Env.REDIS_TLS]: 'true',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'redis-auth', key: 'password' } },
      [Env.CELERY_QUEUE]: 'mail',
      [Env.CELERY_TASK]: 'mail.send',
      [Env.CELERY_SEND_INTERVAL]: '0.25',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(c.resources.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });

  test('probes hit the health endpoints `celery-send --forever` serves', () => {
    const c = only(setup(), 'Deployment').spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(c.ports).toEqual([{ containerPort: METRICS_PORT, name: 'metrics' }]);
  });

  test("defaults: the demo's registration task on queue celery, one a second", () => {
    const c = only(setup(), 'Deployment').spec.template.spec.containers[0];
    expect(envOf(c)).toMatchObject({ [Env.CELERY_QUEUE]: DEFAULT_CELERY_QUEUE, [Env.CELERY_TASK]: DEMO_CELERY_TASK, [Env.CELERY_SEND_INTERVAL]: '1' });
  });

  test.each([
    ['queue with a space', { queue: 'a b' }, `test/producer: 'queue' ("a b") must be a queue name without commas or white space`],
    ['empty task', { task: '' }, `'task' ("") must be a task name without white space`],
    ['interval 0', { interval: Duration.seconds(0) }, `'interval' ("0ms") must be positive`],
    ['name', { name: 'Producer' }, `'name' ("Producer") must be a DNS-1123 label`],
    ['image', { image: 'x:latest' }, `'image' ("x:latest") must name a pinned tag or digest`],
  ])('rejects %s, naming the prop and value', (_n, props, message) => {
    expect(() => setup(props as Partial<CeleryProducerProps>)).toThrow(message);
  });
});
