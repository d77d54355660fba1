import { Duration } from 'cdk8s';
import { KedaScaledObject, QueueWorker, QueueWorkerProps, RedisQueue } from '../../constructs';
import { Env, HEALTH_PATH, METRICS_PORT, READY_PATH } from '../../runtime/contract';
import { envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<QueueWorkerProps> = {}, scaled = true) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'queue', { name: 'redis', listName: 'jobs' });
  const worker = new QueueWorker(chart, 'worker', { queue, ...props });
  if (scaled) new KedaScaledObject(chart, 'scaler', { target: worker.deployment, triggers: worker.scalingTriggers({ eventsPerReplica: 5 }) });
  return { worker, docs: synth(chart) };
}

describe('QueueWorker', () => {
  test('a consume loop with the settings in its env, probes on what it serves, grace matched', () => {
    const { docs } = setup({ concurrency: 8, grace: Duration.seconds(45), lease: Duration.seconds(20), maxAttempts: 3, maxDeliveries: 4, handler: '/app/h.js' });
    const d = only(docs, 'Deployment');
    expect(d.spec.replicas).toBeUndefined();
    const pod = d.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(55);
    const c = pod.containers[0];
    expect(c.args).toEqual(['consume', '--handler', '/app/h.js']);
    expect(envOf(c)).toMatchObject({
      [Env.LIST_NAME]: 'jobs',
      [Env.CONSUME_CONCURRENCY]: '8',
      [Env.GRACE_SECONDS]: '45',
      [Env.LEASE_SECONDS]: '20',
      [Env.MAX_ATTEMPTS]: '3',
      [Env.MAX_DELIVERIES]: '4',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
  });

  test('scaling triggers see ready, in-flight and delayed work', () => {
    const so = only(setup({ concurrency: 4 }).docs, 'ScaledObject');
    expect(so.spec.triggers.map((t: any) => [t.name, t.metadata.listName, t.metadata.listLength])).toEqual([
      ['ready', 'jobs', '5'],
      ['inflight', 'jobs:inflight', '4'],
      ['delayed', 'jobs:delayed', '100'],
    ]);
  });

  test('a PodMonitor scrapes the metrics port of exactly these pods', () => {
    const { docs } = setup({ podMonitor: true, name: 'fleet' });
    const pm = only(docs, 'PodMonitor');
    expect(pm.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    const labels = only(docs, 'Deployment').spec.template.metadata.labels;
    expect(labels).toMatchObject(pm.spec.selector.matchLabels);
  });

  test('unscaled workers keep explicit replicas, or the cdk8s-plus default of 2', () => {
    expect(only(setup({ replicas: 3 }, false).docs, 'Deployment').spec.replicas).toBe(3);
    expect(only(setup({}, false).docs, 'Deployment').spec.replicas).toBe(2);
  });

  test.each([
    ['concurrency 0', { concurrency: 0 }, /'concurrency' \(0\) must be at least 1/],
    ['maxAttempts 0', { maxAttempts: 0 }, /'maxAttempts' \(0\) must be at least 1/],
    ['maxDeliveries 0', { maxDeliveries: 0 }, /'maxDeliveries' \(0\) must be at least 1/],
    ['lease 0', { lease: Duration.seconds(0) }, /'lease' \("0s"\) must be a whole number of seconds, at least 1/],
    ['handler relative', { handler: 'h.js' }, /'handler' \("h.js"\) must be an absolute path inside the image/],
  ])('rejects %s', (_n, props, message) => {
    expect(() => setup(props as any)).toThrow(message);
  });
});
