import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Commands, Env, flag, Options, PUBLISH_DEFAULTS } from '../runtime/contract';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { leasedListEnv } from './private/triggers';
import { checkInteger, propError } from './private/validation';
import { RuntimeDeploymentProps } from './runtime-deployment-props';
import { LeasedList } from './triggers';

/** Props of a Publisher. */
export interface PublisherProps extends RuntimeDeploymentProps {
  /** The list to publish to, e.g. a RedisQueue. */
  readonly queue: LeasedList;
  /**
   * Events per batch (one pipelined LPUSH).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Time between batches.
   * @default Duration.seconds(10)
   */
  readonly interval?: Duration;
  /**
   * Smallest `wait` (seconds) of an event; each event's wait is random in [waitMin, waitMax].
   * @default 10
   */
  readonly waitMin?: number;
  /**
   * Largest `wait` (seconds) of an event.
   * @default 20
   */
  readonly waitMax?: number;
}

/** A Deployment running `redis-keda publish --forever`: batches of `{"id", "enqueuedAt", "wait"}` events. */
export class Publisher extends Construct {
  /** The publisher's Deployment. */
  public readonly deployment: kplus.Deployment;
  /** Events per batch. */
  public readonly batchSize: number;
  /** Time between batches. */
  public readonly interval: Duration;
  /** Smallest `wait` of an event, in seconds. */
  public readonly waitMin: number;
  /** Largest `wait` of an event, in seconds. */
  public readonly waitMax: number;

  public constructor(scope: Construct, id: string, props: PublisherProps) {
    super(scope, id);
    checkInteger(this, 'batchSize', props.batchSize, 1);
    checkInteger(this, 'waitMin', props.waitMin, 0);
    checkInteger(this, 'waitMax', props.waitMax, 0);
    this.batchSize = props.batchSize ?? PUBLISH_DEFAULTS.batch;
    this.interval = props.interval ?? Duration.seconds(PUBLISH_DEFAULTS.intervalSeconds);
    this.waitMin = props.waitMin ?? PUBLISH_DEFAULTS.waitMin;
    this.waitMax = props.waitMax ?? PUBLISH_DEFAULTS.waitMax;
    if (this.waitMax < this.waitMin) throw propError(this, 'waitMax', this.waitMax, `must be at least 'waitMin' (${this.waitMin})`);
    if (this.interval.toMilliseconds() < 0) throw propError(this, 'interval', `${this.interval.toMilliseconds()}ms`, 'must not be negative');
    this.deployment = renderRuntimeDeployment(this, props, {
      container: 'publisher',
      args: [Commands.PUBLISH, flag(Options.FOREVER)],
      replicas: 1,
      env: {
        ...leasedListEnv(props.queue),
        [Env.PUBLISH_BATCH]: kplus.EnvValue.fromValue(String(this.batchSize)),
        [Env.PUBLISH_INTERVAL]: kplus.EnvValue.fromValue(String(this.interval.toMilliseconds() / 1000)),
        [Env.WAIT_MIN]: kplus.EnvValue.fromValue(String(this.waitMin)),
        [Env.WAIT_MAX]: kplus.EnvValue.fromValue(String(this.waitMax)),
      },
    }).deployment;
    props.queue.connection.allowFrom(this.deployment);
  }
}
