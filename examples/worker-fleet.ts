// A fleet of loop-mode workers scaled 0..20 by KEDA on everything the fleet has to do (events waiting,
// in flight and waiting for a retry), shrinking slowly so scale-in never takes a busy worker.
// Dashboards for kube-prometheus-stack's Grafana: the fleet and its Redis, one ConfigMap each.
// Expects the Secret `redis-auth` (key `password`) in namespace `fleet`.
import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { AppendFsync, Dashboards, GitOpsApp, KedaScaledObject, QueueWorker, RedisQueue, ScalingPolicyType } from 'cdk8s-redis-keda';

const app = new GitOpsApp({ namespaces: true });
const chart = new Chart(app, 'fleet', { namespace: 'fleet' });
const queue = new RedisQueue(chart, 'queue', {
  name: 'redis',
  password: { secret: kplus.Secret.fromSecretName(chart, 'auth', 'redis-auth'), key: 'password' },
  persistence: { size: Size.gibibytes(5), appendFsync: AppendFsync.EVERY_SECOND },
  exporter: {},
});
const worker = new QueueWorker(chart, 'worker', { queue, concurrency: 10, grace: Duration.seconds(30), podMonitor: true });
const scaler = new KedaScaledObject(chart, 'worker-scaler', {
  target: worker.deployment, // marked autoscaled: its YAML carries no `replicas`
  triggers: worker.scalingTriggers({ eventsPerReplica: 20 }),
  minReplicas: 0,
  maxReplicas: 20,
  cooldown: Duration.seconds(120),
  scaleDown: { stabilizationWindow: Duration.minutes(5), policies: [{ type: ScalingPolicyType.PODS, value: 2, period: Duration.minutes(1) }] },
  fallback: { failureThreshold: 3, replicas: 2 },
});
const dashboards = new Dashboards(chart, 'dashboards', { datasource: 'prometheus' });
dashboards.addQueueFleet(worker, { scaler });
dashboards.addRedis({ queue });
app.synth();
