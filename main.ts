import { App, Chart, ChartProps, Duration, Size, YamlOutputType } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { KedaScaledJob, Publisher, RedisQueue, ScalingStrategy, writeKustomizations } from './constructs';

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

/** Every demo chart of the app, by folder name in dist/. */
export function buildApp(app: App): App {
  new RedisKedaChart(app, 'redis-keda');
  return app;
}

if (require.main === module) {
  const app = buildApp(new App({ yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE }));
  app.synth();
  writeKustomizations(app);
}
