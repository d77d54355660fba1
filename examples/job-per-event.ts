// One Kubernetes Job per event: a persistent Redis list, a publisher, and a KEDA ScaledJob whose Jobs lease
// one event each. No `name` anywhere: every object gets a generated name and every reference follows it.
// Expects the Secret `redis-auth` (key `password`) in namespace `jobs`.
import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { GitOpsApp, KedaScaledJob, Publisher, RedisQueue, ScalingStrategy } from 'cdk8s-redis-keda';

const app = new GitOpsApp({ namespaces: true });
const chart = new Chart(app, 'jobs', { namespace: 'jobs' });
const queue = new RedisQueue(chart, 'queue', {
  listName: 'events',
  password: { secret: kplus.Secret.fromSecretName(chart, 'auth', 'redis-auth'), key: 'password' },
  persistence: { size: Size.gibibytes(1) },
});
new Publisher(chart, 'publisher', { queue, batchSize: 10, interval: Duration.seconds(10) });
new KedaScaledJob(chart, 'consumer', {
  triggers: [queue.listTrigger({ listLength: 1 })],
  container: { args: ['consume', '--once'], envVariables: queue.envVariables() },
  scalingStrategy: ScalingStrategy.accurate(),
  maxReplicas: 20,
});
app.synth();
