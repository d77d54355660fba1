// Several charts in one app, each its own folder (and namespace) for `kubectl apply -k` or a GitOps tool:
// the queue and its publisher in one chart, the workers that drain it in another. The workers reach Redis
// by its namespace-qualified Service name; Secrets are read by name in each pod's own namespace, and the
// workers' chart gets its own TriggerAuthentication for KEDA.
// Expects the Secret `redis-auth` (key `password`) in namespaces `queue` and `consumers`.
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GitOpsApp, KedaScaledObject, Publisher, QueueWorker, RedisQueue } from 'cdk8s-redis-keda';

const app = new GitOpsApp({ namespaces: true });

const queueChart = new Chart(app, 'queue', { namespace: 'queue' });
const queue = new RedisQueue(queueChart, 'redis', {
  listName: 'orders',
  password: { secret: kplus.Secret.fromSecretName(queueChart, 'auth', 'redis-auth'), key: 'password' },
});
new Publisher(queueChart, 'publisher', { queue, batchSize: 5, interval: Duration.seconds(5) });

const consumers = new Chart(app, 'consumers', { namespace: 'consumers' });
const fleet = new QueueWorker(consumers, 'fleet', { queue, concurrency: 5 });
new KedaScaledObject(consumers, 'fleet-scaler', { target: fleet.deployment, triggers: fleet.scalingTriggers(), maxReplicas: 5 });
app.synth();
