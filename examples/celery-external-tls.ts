// Celery-protocol workers on a Redis outside the cluster (a managed cache over TLS on port 6380), scaled
// 0..10 on the Celery queue, its priority lists and kombu's `unacked` hash; a producer sends one task a second.
// Expects the Secrets `redis-auth` (key `password`) and `redis-ca` (key `ca.crt`) in namespace `celery`.
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CeleryProducer, CeleryWorker, GitOpsApp, KedaScaledObject, RedisConnection } from 'cdk8s-redis-keda';

const app = new GitOpsApp({ namespaces: true });
const chart = new Chart(app, 'celery', { namespace: 'celery' });
const connection = RedisConnection.external(chart, {
  host: 'my-cache.redis.example.com',
  port: 6380,
  password: { secret: kplus.Secret.fromSecretName(chart, 'auth', 'redis-auth'), key: 'password' },
  tlsCa: { secret: kplus.Secret.fromSecretName(chart, 'ca', 'redis-ca'), key: 'ca.crt' },
});
const worker = new CeleryWorker(chart, 'worker', { connection, queues: ['celery'], concurrency: 4, podMonitor: true });
new KedaScaledObject(chart, 'worker-scaler', {
  target: worker.deployment,
  triggers: worker.scalingTriggers({ tasksPerReplica: 10 }),
  maxReplicas: 10,
  pollingInterval: Duration.seconds(15),
  cooldown: Duration.seconds(200),
});
new CeleryProducer(chart, 'producer', { connection, queue: 'celery', interval: Duration.seconds(1) });
app.synth();
