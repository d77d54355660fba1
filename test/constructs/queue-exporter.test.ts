import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { QueueExporter, RedisConnection, RedisQueue } from '../../constructs';
import { Commands, Env, HEALTH_PATH, METRICS_PATH, METRICS_PORT, QueueCommands, READY_PATH } from '../../runtime/contract';
import { networkPolicyViolations } from '../manifests/house-rules';
import { restrictedViolations } from '../manifests/pod-security';
import { referenceViolations } from '../manifests/references';
import { all, envOf, only, synth, testChart } from './helpers';

function setup(props: Partial<ConstructorParameters<typeof QueueExporter>[2]> = {}, named = true) {
  const chart = testChart();
  const queue = new RedisQueue(chart, 'queue', { name: named ? 'redis' : undefined, listName: 'jobs', networkPolicy: {} });
  const exporter = new QueueExporter(chart, 'exporter', {
    name: named ? 'queue-exporter' : undefined,
    queues: [queue, { connection: queue.connection, listName: 'orders' }],
    ...props,
  });
  return { chart, queue, exporter, docs: synth(chart) };
}

const exporterDeployment = (docs: Record<string, any>[]) => all(docs, 'Deployment').find((d) => d.spec.template.spec.containers[0].name === 'exporter')!;

describe('QueueExporter', () => {
  test('one restricted pod running `queue exporter` for every list, probes on what it serves, a Service on the metrics port', () => {
    const { docs } = setup({ scrapeTimeout: Duration.millis(1500) });
    const deployment = exporterDeployment(docs);
    expect(deployment.metadata.name).toBe('queue-exporter');
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.args).toEqual([Commands.QUEUE, QueueCommands.EXPORTER]);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(c.resources.requests).toMatchObject({ cpu: '50m', memory: '64Mi' });
    expect(envOf(c)).toMatchObject({
      [Env.REDIS_HOST]: 'redis.test-ns.svc',
      [Env.EXPORTER_LISTS]: 'jobs,orders',
      [Env.EXPORTER_SCRAPE_TIMEOUT]: '1.5',
      [Env.METRICS_PORT]: String(METRICS_PORT),
    });
    expect(envOf(c)[Env.LIST_NAME]).toBeUndefined();
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    const service = all(docs, 'Service').find((s) => s.metadata.name === 'queue-exporter')!;
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT }]);
    expect(Object.entries(service.spec.selector).every(([k, v]) => deployment.spec.template.metadata.labels[k] === v)).toBe(true);
    expect(all(docs, 'PodMonitor')).toEqual([]);
  });

  test.each([true, false])('named %s: every reference resolves; the NetworkPolicy admits the exporter; the PodMonitor selects its pod', (named) => {
    const { docs } = setup({ podMonitor: true }, named);
    expect(referenceViolations(docs)).toEqual([]);
    expect(networkPolicyViolations(docs)).toEqual([]);
    const labels = exporterDeployment(docs).spec.template.metadata.labels;
    const policy = only(docs, 'NetworkPolicy');
    const selects = (p: Record<string, any>) => p.podSelector && Object.entries(p.podSelector.matchLabels).every(([k, v]) => labels[k] === v);
    expect(policy.spec.ingress[0].from.filter(selects)).toHaveLength(1);
    const monitor = only(docs, 'PodMonitor');
    expect(monitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': labels['app.kubernetes.io/name'], 'app.kubernetes.io/component': 'queue-exporter' });
    expect(monitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: METRICS_PATH, interval: '15s' }]);
  });

  test.each([
    ['no lists', () => ({ queues: [] }), /test\/exporter: 'queues' \("\[\]"\) must hold at least one list/],
    ['a list twice', (q: RedisQueue) => ({ queues: [q, q] }), /'queues' \("jobs"\) must name each list once/],
    [
      'lists on two connections',
      (q: RedisQueue, other: RedisConnection) => ({ queues: [q, { connection: other, listName: 'elsewhere' }] }),
      /'queues' \("elsewhere"\) must all be on one connection: 'elsewhere' is not on the connection of 'jobs'/,
    ],
    ['a comma in a name', (q: RedisQueue) => ({ queues: [{ connection: q.connection, listName: 'a,b' }] }), /'queues' \("a,b"\) must be list names without commas/],
    ['scrapeTimeout 0', (q: RedisQueue) => ({ queues: [q], scrapeTimeout: Duration.seconds(0) }), /'scrapeTimeout' \("0ms"\) must be above 0 and at most 60 s/],
    ['scrapeTimeout 2 min', (q: RedisQueue) => ({ queues: [q], scrapeTimeout: Duration.minutes(2) }), /'scrapeTimeout' \("120000ms"\) must be above 0/],
  ])('rejects %s, naming the path, prop and value', (_n, props, message) => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue', { listName: 'jobs' });
    const other = RedisConnection.external(chart, { host: 'cache.example.com' });
    expect(() => new QueueExporter(chart, 'exporter', (props as (q: RedisQueue, o: RedisConnection) => any)(queue, other))).toThrow(message);
  });

  test('an external connection with a password Secret: the password reaches the pod from the Secret, never as a value', () => {
    const chart = testChart();
    const connection = RedisConnection.external(chart, {
      host: 'cache.example.com',
      password: { secret: kplus.Secret.fromSecretName(chart, 'pw', 'redis-auth'), key: 'password' },
    });
    new QueueExporter(chart, 'exporter', { queues: [{ connection, listName: 'a' }] });
    const env = envOf(only(synth(chart), 'Deployment').spec.template.spec.containers[0]);
    expect(env[Env.REDIS_PASSWORD]).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
  });

  test('pendingQuery: the events waiting or in flight on one list, from the exporter in its namespace; pendingTrigger scales on it', () => {
    const { chart, exporter } = setup();
    expect(exporter.pendingQuery()).toBe('sum(redis_keda_queue_depth{namespace="test-ns", list="jobs", state=~"ready|inflight"})');
    expect(exporter.pendingQuery('orders')).toBe('sum(redis_keda_queue_depth{namespace="test-ns", list="orders", state=~"ready|inflight"})');
    const trigger = exporter.pendingTrigger(chart, 'pending', { serverAddress: 'http://prometheus-operated.monitoring.svc:9090', threshold: 10, listName: 'orders' });
    expect(trigger.bind(chart)).toMatchObject({
      type: 'prometheus',
      metadata: { serverAddress: 'http://prometheus-operated.monitoring.svc:9090', query: exporter.pendingQuery('orders'), threshold: '10' },
    });
    expect(() => exporter.pendingQuery('nope')).toThrow(/test\/exporter: 'pendingQuery' \("nope"\) must be one of the exported lists: jobs, orders/);
  });

  test('pendingQuery without a chart namespace selects by list only', () => {
    const chart = testChart(null);
    const queue = new RedisQueue(chart, 'queue', { listName: 'jobs' });
    const exporter = new QueueExporter(chart, 'exporter', { queues: [queue] });
    expect(exporter.pendingQuery()).toBe('sum(redis_keda_queue_depth{list="jobs", state=~"ready|inflight"})');
  });
});
