import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, DEFAULT_CONSUME_CONCURRENCY, DEFAULT_LEASE_SECONDS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELIVERIES, Env, flag, Options, queueKeys } from '../runtime/contract';
import { renderWorkerDeployment } from './private/runtime-deployment';
import { checkClusterListName, leasedListEnv } from './private/triggers';
import { checkInteger, checkWholeSeconds, propError } from './private/validation';
import { WorkerDeploymentProps } from './runtime-deployment-props';
import { IKedaTrigger, LeasedList, RedisListTrigger } from './triggers';

/** Props of a QueueWorker. */
export interface QueueWorkerProps extends WorkerDeploymentProps {
  /** The queue the workers consume. */
  readonly queue: LeasedList;
  /**
   * Events each pod handles at the same time.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * Lease of each event; renewed while the handler runs.
   * @default Duration.seconds(60)
   */
  readonly lease?: Duration;
  /**
   * Handler failures before an event goes to the dead-letter list.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Deliveries (crash redeliveries included) before an event goes to the dead-letter list.
   * @default 10
   */
  readonly maxDeliveries?: number;
  /**
   * Path of a handler module inside the image (`--handler`).
   * @default - the demo handler (sleeps `wait` seconds)
   */
  readonly handler?: string;
}

/**
 * A Deployment of `redis-keda consume` workers: leases, retries, dead-letter and graceful stop,
 * `/healthz`, `/readyz` and `/metrics` on port 9090, termination grace matched to `--grace`.
 */
export class QueueWorker extends Construct {
  /** The workers' Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The worker container. */
  public readonly container: kplus.Container;
  /** Events each pod handles at the same time. */
  public readonly concurrency: number;
  /** Time a stopping pod keeps working on what it holds. */
  public readonly grace: Duration;
  /** The queue the workers consume. */
  public readonly queue: LeasedList;
  /** The PodMonitor scraping the workers, when asked for. */
  public readonly podMonitor?: PodMonitor;

  public constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    checkInteger(this, 'concurrency', props.concurrency, 1);
    checkInteger(this, 'maxAttempts', props.maxAttempts, 1);
    checkInteger(this, 'maxDeliveries', props.maxDeliveries, 1);
    checkClusterListName(this, props.queue.connection, props.queue.listName, 'queue.listName');
    this.queue = props.queue;
    this.concurrency = props.concurrency ?? DEFAULT_CONSUME_CONCURRENCY;
    const lease = props.lease ?? Duration.seconds(DEFAULT_LEASE_SECONDS);
    checkWholeSeconds(this, 'lease', lease);
    if (props.handler !== undefined && !props.handler.startsWith('/')) {
      throw propError(this, 'handler', props.handler, 'must be an absolute path inside the image');
    }
    const args: string[] = [Commands.CONSUME];
    if (props.handler) args.push(flag(Options.HANDLER), props.handler);
    const worker = renderWorkerDeployment(this, props, {
      component: 'worker',
      args,
      env: {
        ...leasedListEnv(props.queue),
        [Env.CONSUME_CONCURRENCY]: kplus.EnvValue.fromValue(String(this.concurrency)),
        [Env.LEASE_SECONDS]: kplus.EnvValue.fromValue(String(lease.toSeconds())),
        [Env.MAX_ATTEMPTS]: kplus.EnvValue.fromValue(String(props.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)),
        [Env.MAX_DELIVERIES]: kplus.EnvValue.fromValue(String(props.maxDeliveries ?? DEFAULT_MAX_DELIVERIES)),
      },
    });
    this.deployment = worker.deployment;
    this.container = worker.container;
    this.grace = worker.grace;
    this.podMonitor = worker.podMonitor;
    props.queue.connection.allowFrom(this.deployment);
  }

  /**
   * Triggers that see all of the fleet's work, so scale-in never removes a worker that holds
   * events (kedacore/keda#6719): the ready list (`eventsPerReplica` per pod), the leased events
   * (`concurrency` per pod) and the retries waiting in the delayed set (which keep one pod alive
   * to promote them when due).
   */
  public scalingTriggers(options: { readonly eventsPerReplica?: number } = {}): IKedaTrigger[] {
    const q = this.queue;
    const keys = queueKeys(q.listName);
    const trigger = (key: string, name: string, listLength: number) => new RedisListTrigger(this, q.connection, key, { name, listLength }, q);
    return [trigger(keys.ready, 'ready', options.eventsPerReplica ?? 10), trigger(keys.inflight, 'inflight', this.concurrency), trigger(keys.delayed, 'delayed', 100)];
  }
}
