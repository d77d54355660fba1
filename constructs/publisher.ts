import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, Env, flag, MAX_PUBLISH_RATE, Options, PUBLISH_DEFAULTS, RATE_DIR, RATE_FILE, RATE_FILE_NAME } from '../runtime/contract';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { checkClusterListName, leasedListEnv } from './private/triggers';
import { checkInteger, nameMetadata, propError } from './private/validation';
import { RuntimeDeploymentProps } from './runtime-deployment-props';
import { LeasedList } from './triggers';

/** Where a Publisher reads its rate live: a ConfigMap key mounted as a file. */
export interface PublisherRateConfigMap {
  /**
   * An existing ConfigMap holding the rate; the Publisher only mounts it.
   * @default - a ConfigMap created by the Publisher, holding `rate` under `key`
   */
  readonly configMap?: kplus.IConfigMap;
  /**
   * The key whose value is the rate in events per second (0 pauses).
   * @default 'rate'
   */
  readonly key?: string;
}

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
   * Time between batches; not with `rate` or `rateConfigMap`, which set it (batchSize / rate).
   * @default Duration.seconds(10)
   */
  readonly interval?: Duration;
  /**
   * Events per second, paced on absolute deadlines (one LPUSH of `batchSize` events every
   * batchSize / rate seconds). With `rateConfigMap`: the content of the ConfigMap it creates, and
   * the rate until the mounted file holds a valid one.
   * @default - none: batches spaced by `interval`
   */
  readonly rate?: number;
  /**
   * Follow the rate live from a ConfigMap key, mounted read-only as a directory (no subPath: a
   * subPath mount never sees updates); a change reaches the publisher within the kubelet's sync
   * period plus a second, without a restart.
   * @default - no rate file
   */
  readonly rateConfigMap?: PublisherRateConfigMap;
  /**
   * Restart the pod through Stakater Reloader when a ConfigMap or Secret its environment comes
   * from changes (e.g. the Redis password): `reloader.stakater.com/auto: "true"` on the
   * Deployment, or with `rateConfigMap` `secret.reloader.stakater.com/auto: "true"`, so a rate
   * change is followed live rather than by a restart.
   * @default false
   */
  readonly reloadOnChange?: boolean;
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

/** The key of the rate in the ConfigMap a Publisher creates. */
const RATE_KEY = 'rate';
/** Stakater Reloader: restart on a change of any ConfigMap or Secret the pods reference. */
const RELOADER_AUTO_ANNOTATION = 'reloader.stakater.com/auto';
/** Stakater Reloader: the same for Secrets only (ConfigMap changes ignored). */
const RELOADER_SECRETS_ANNOTATION = 'secret.reloader.stakater.com/auto';

/** A Deployment running `redis-keda publish --forever`: batches of `{"id", "enqueuedAt", "wait"}` events. */
export class Publisher extends Construct {
  /** The publisher's Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The PodMonitor scraping the publisher, when asked for. */
  public readonly podMonitor?: PodMonitor;
  /** Events per batch. */
  public readonly batchSize: number;
  /** Time between batches (unused when paced by a rate). */
  public readonly interval: Duration;
  /** Smallest `wait` of an event, in seconds. */
  public readonly waitMin: number;
  /** Largest `wait` of an event, in seconds. */
  public readonly waitMax: number;
  /** Events per second, if paced. */
  public readonly rate?: number;
  /** The ConfigMap the rate is read from live, if any (created or given). */
  public readonly rateConfigMap?: kplus.IConfigMap;

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
    const paced = props.rate !== undefined || props.rateConfigMap !== undefined;
    if (props.rate !== undefined && !(Number.isFinite(props.rate) && props.rate > 0 && props.rate <= MAX_PUBLISH_RATE)) {
      throw propError(this, 'rate', props.rate, `must be a number of events per second above 0 and at most ${MAX_PUBLISH_RATE}`);
    }
    if (paced && props.interval !== undefined) {
      throw propError(
        this,
        'interval',
        `${props.interval.toMilliseconds()}ms`,
        `must not be given with '${props.rate !== undefined ? 'rate' : 'rateConfigMap'}': a rate sets the time between batches (batchSize / rate)`,
      );
    }
    const key = props.rateConfigMap?.key ?? RATE_KEY;
    if (!/^[-._a-zA-Z0-9]+$/.test(key) || key.startsWith('..'))
      throw propError(this, 'rateConfigMap.key', key, 'must be a ConfigMap key: letters, digits, -, _ and ., not starting with ..');
    if (props.rateConfigMap && !props.rateConfigMap.configMap && props.rate === undefined) {
      throw propError(this, 'rateConfigMap', '{}', "must name an existing 'configMap', or come with 'rate' (the content of the ConfigMap the Publisher creates)");
    }
    this.rate = props.rate;
    this.rateConfigMap = props.rateConfigMap
      ? (props.rateConfigMap.configMap ?? new kplus.ConfigMap(this, 'rate', { metadata: nameMetadata(props.name && `${props.name}-rate`), data: { [key]: String(props.rate) } }))
      : undefined;
    checkClusterListName(this, props.queue.connection, props.queue.listName, 'queue.listName');
    const { deployment, container, podMonitor } = renderRuntimeDeployment(this, props, {
      container: 'publisher',
      args: [Commands.PUBLISH, flag(Options.FOREVER)],
      replicas: 1,
      env: {
        ...leasedListEnv(props.queue),
        [Env.PUBLISH_BATCH]: kplus.EnvValue.fromValue(String(this.batchSize)),
        ...(paced ? {} : { [Env.PUBLISH_INTERVAL]: kplus.EnvValue.fromValue(String(this.interval.toMilliseconds() / 1000)) }),
        ...(this.rate === undefined ? {} : { [Env.PUBLISH_RATE]: kplus.EnvValue.fromValue(String(this.rate)) }),
        ...(this.rateConfigMap ? { [Env.PUBLISH_RATE_FILE]: kplus.EnvValue.fromValue(RATE_FILE) } : {}),
        [Env.WAIT_MIN]: kplus.EnvValue.fromValue(String(this.waitMin)),
        [Env.WAIT_MAX]: kplus.EnvValue.fromValue(String(this.waitMax)),
      },
    });
    this.deployment = deployment;
    this.podMonitor = podMonitor;
    if (this.rateConfigMap) {
      // The whole directory, read-only: the runtime watches it for the kubelet's `..data` swap.
      const volume = kplus.Volume.fromConfigMap(this, 'rate-volume', this.rateConfigMap, { name: 'rate', items: { [key]: { path: RATE_FILE_NAME } } });
      container.mount(RATE_DIR, volume, { readOnly: true });
    }
    if (props.reloadOnChange) deployment.metadata.addAnnotation(this.rateConfigMap ? RELOADER_SECRETS_ANNOTATION : RELOADER_AUTO_ANNOTATION, 'true');
    props.queue.connection.allowFrom(this.deployment);
  }
}
