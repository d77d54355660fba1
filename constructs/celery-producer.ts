import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, DEFAULT_CELERY_QUEUE, DEFAULT_CELERY_SEND_INTERVAL_SECONDS, DEMO_CELERY_TASK, Env, flag, Options } from '../runtime/contract';
import { RedisConnection } from './redis-connection';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { propError, refuseCluster } from './private/validation';
import { RuntimeDeploymentProps } from './runtime-deployment-props';

/** Props of a CeleryProducer. */
export interface CeleryProducerProps extends RuntimeDeploymentProps {
  /** The Redis broker the tasks go to. */
  readonly connection: RedisConnection;
  /**
   * Queue (Redis list) the tasks are pushed to.
   * @default DEFAULT_CELERY_QUEUE ("celery")
   */
  readonly queue?: string;
  /**
   * Name of the task sent (Celery protocol 2), executed by our workers or Python ones.
   * @default DEMO_CELERY_TASK ("users.register")
   */
  readonly task?: string;
  /**
   * Time between two tasks.
   * @default Duration.seconds(1)
   */
  readonly interval?: Duration;
}

/**
 * A Deployment (one replica, not autoscaled) running `redis-keda celery-send --forever`: one Celery
 * task every `interval`, as the original demo's producer sent one registration a second.
 * `/healthz`, `/readyz` and `/metrics` on port 9090.
 */
export class CeleryProducer extends Construct {
  /** The producer's Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The producer's container. */
  public readonly container: kplus.Container;
  /** The PodMonitor scraping the producer, when asked for. */
  public readonly podMonitor?: PodMonitor;
  /** The queue the tasks go to. */
  public readonly queue: string;
  /** The name of the task sent. */
  public readonly task: string;
  /** Time between two tasks. */
  public readonly interval: Duration;

  public constructor(scope: Construct, id: string, props: CeleryProducerProps) {
    super(scope, id);
    refuseCluster(this, props.connection);
    this.queue = props.queue ?? DEFAULT_CELERY_QUEUE;
    this.task = props.task ?? DEMO_CELERY_TASK;
    this.interval = props.interval ?? Duration.seconds(DEFAULT_CELERY_SEND_INTERVAL_SECONDS);
    if (!this.queue || /[,\s]/.test(this.queue)) throw propError(this, 'queue', this.queue, 'must be a queue name without commas or white space');
    if (!this.task || /\s/.test(this.task)) throw propError(this, 'task', this.task, 'must be a task name without white space');
    if (this.interval.toMilliseconds() <= 0) throw propError(this, 'interval', `${this.interval.toMilliseconds()}ms`, 'must be positive');
    // With --forever, celery-send serves /healthz, /readyz and /metrics like `publish --forever`.
    ({
      deployment: this.deployment,
      container: this.container,
      podMonitor: this.podMonitor,
    } = renderRuntimeDeployment(this, props, {
      container: 'producer',
      args: [Commands.CELERY_SEND, flag(Options.FOREVER)],
      replicas: 1,
      env: {
        ...props.connection.envVariables(),
        [Env.CELERY_QUEUE]: kplus.EnvValue.fromValue(this.queue),
        [Env.CELERY_TASK]: kplus.EnvValue.fromValue(this.task),
        [Env.CELERY_SEND_INTERVAL]: kplus.EnvValue.fromValue(String(this.interval.toMilliseconds() / 1000)),
      },
    }));
    props.connection.allowFrom(this.deployment);
  }
}
