import { App, Chart, ChartProps, Duration, Size, YamlOutputType } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  AppendFsync, KedaScaledJob, KedaScaledObject, Publisher, QueueWorker, RedisQueue, ScalingPolicyType, ScalingStrategy, writeKustomizations,
} from './constructs';

/**
 * The "Redis Keda" demo, corrected: events `{"id", "enqueuedAt", "wait"}` pushed in batches of 10
 * every 10 s, one Job per event with the `accurate` scaling strategy, no event lost when a Job dies.
 * Expects the Secret `redis-auth` (key `password`) in namespace `redis-demo`.
 */
export class RedisKedaChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'redis-demo', ...props });
    const password = { secret: kplus.Secret.fromSecretName(this, 'redis-auth', 'redis-auth'), key: 'password' };
    const queue = new RedisQueue(this, 'queue', {
      name: 'redis',
      listName: 'events',
      password,
      persistence: { size: Size.gibibytes(1) },
    });
    new Publisher(this, 'publisher', {
      name: 'publisher',
      queue,
      batchSize: 10,
      interval: Duration.seconds(10),
      waitMin: 10,
      waitMax: 20,
    });
    new KedaScaledJob(this, 'consumer', {
      name: 'consumer',
      triggers: [queue.listTrigger({ listLength: 1 })],
      container: {
        args: ['consume', '--once'],
        envVariables: queue.envVariables(),
      },
      scalingStrategy: ScalingStrategy.accurate(),
      maxReplicas: 30,
      pollingInterval: Duration.seconds(5),
      // The longest event sleeps 20 s; a Job stuck far past that is killed and its event reaped.
      activeDeadline: Duration.minutes(10),
    });
  }
}

/**
 * A worker fleet that loses nothing: loop-mode `redis-keda consume` workers (leases, retries,
 * dead-letter, graceful stop) scaled 0..20 by KEDA on everything the fleet has to do: events
 * waiting, events in flight and retries pending, so scale-in never takes a busy worker.
 * Expects the Secret `redis-auth` (key `password`) in namespace `worker-fleet`.
 */
export class WorkerFleetChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'worker-fleet', ...props });
    const password = { secret: kplus.Secret.fromSecretName(this, 'redis-auth', 'redis-auth'), key: 'password' };
    const queue = new RedisQueue(this, 'queue', {
      name: 'redis',
      listName: 'events',
      password,
      persistence: { size: Size.gibibytes(5), appendFsync: AppendFsync.EVERY_SECOND },
      exporter: {},
    });
    new Publisher(this, 'publisher', { name: 'publisher', queue, batchSize: 50, interval: Duration.seconds(5), waitMin: 1, waitMax: 5 });
    const worker = new QueueWorker(this, 'worker', {
      name: 'worker',
      queue,
      concurrency: 10,
      grace: Duration.seconds(30),
      podMonitor: true,
    });
    new KedaScaledObject(this, 'worker-scaler', {
      name: 'worker',
      target: worker.deployment,
      triggers: worker.scalingTriggers({ eventsPerReplica: 20 }),
      minReplicas: 0,
      maxReplicas: 20,
      pollingInterval: Duration.seconds(5),
      cooldown: Duration.seconds(120),
      // Shrink slowly: at most 2 pods a minute, on the highest recommendation of the last 5 minutes.
      scaleDown: {
        stabilizationWindow: Duration.minutes(5),
        policies: [{ type: ScalingPolicyType.PODS, value: 2, period: Duration.minutes(1) }],
      },
      // If Redis cannot be read, keep a small fleet rather than freezing at whatever size it had.
      fallback: { failureThreshold: 3, replicas: 2 },
    });
  }
}

/** Every demo chart of the app, by folder name in dist/. */
export function buildApp(app: App): App {
  new RedisKedaChart(app, 'redis-keda');
  new WorkerFleetChart(app, 'worker-fleet');
  return app;
}

if (require.main === module) {
  const app = buildApp(new App({ yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE }));
  app.synth();
  writeKustomizations(app);
}
