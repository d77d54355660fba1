import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import {
  CELERY_PRIORITY_SEPARATOR,
  CELERY_PRIORITY_STEPS,
  celeryPriorityList,
  CeleryKeys,
  Commands,
  DEFAULT_CELERY_CONCURRENCY,
  DEFAULT_CELERY_QUEUE,
  DEFAULT_CELERY_RESULT_EXPIRES_SECONDS,
  DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS,
  DEFAULT_UNKNOWN_TASK_POLICY,
  Env,
  UNKNOWN_TASK_POLICIES,
  UnknownTaskPolicy,
} from '../runtime/contract';
import { renderWorkerDeployment } from './private/runtime-deployment';
import { checkInteger, checkWholeSeconds, propError, refuseCluster } from './private/validation';
import { RedisConnection } from './redis-connection';
import { WorkerDeploymentProps } from './runtime-deployment-props';
import { IKedaTrigger, RedisListTrigger } from './triggers';

/** Props of a CeleryWorker. */
export interface CeleryWorkerProps extends WorkerDeploymentProps {
  /** The Redis broker and result backend (the same database, as Celery's `redis://` URLs have it). */
  readonly connection: RedisConnection;
  /**
   * Celery queues (Redis lists) to consume, with their priority lists.
   * @default [DEFAULT_CELERY_QUEUE] ("celery")
   */
  readonly queues?: string[];
  /**
   * Tasks each pod runs at the same time.
   * @default DEFAULT_CELERY_CONCURRENCY (4)
   */
  readonly concurrency?: number;
  /**
   * How long a taken task may stay unacknowledged before any worker (ours or Python's) puts it back
   * on its queue: kombu's `visibility_timeout`. Must match the Python side's setting on a shared broker,
   * and exceed the longest task plus the longest `eta` / countdown.
   * @default Duration.seconds(DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS) (1 hour)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Lifetime of a stored result (Celery's `result_expires`); `Duration.seconds(0)` keeps results forever.
   * @default Duration.seconds(DEFAULT_CELERY_RESULT_EXPIRES_SECONDS) (1 day)
   */
  readonly resultExpires?: Duration;
  /**
   * What a worker does with a task no handler knows: `'fail'` stores a FAILURE result, so the caller's
   * `AsyncResult.get()` raises instead of waiting forever; `'requeue'` puts the message back on its queue, for a
   * fleet shared with Python workers that know the task.
   * @default 'fail'
   */
  readonly unknownTask?: UnknownTaskPolicy;
  /**
   * Absolute path of a module inside the image that registers more task handlers (`CELERY_TASKS`).
   * @default - the packaged tasks only (the demo's `users.register` and the test tasks)
   */
  readonly tasks?: string;
}

/** Options of the trigger on one Celery queue's list. */
export interface CeleryQueueTriggerOptions {
  /**
   * Which of the worker's queues.
   * @default - the first
   */
  readonly queue?: string;
  /**
   * Waiting tasks per replica.
   * @default 10
   */
  readonly listLength?: number;
  /**
   * Active (0 -> 1) only when more tasks than this wait.
   * @default 0
   */
  readonly activationListLength?: number;
}

/** Options of the trigger on kombu's `unacked` hash. */
export interface CeleryUnackedTriggerOptions {
  /**
   * Unacknowledged tasks per replica.
   * @default - the worker's concurrency
   */
  readonly listLength?: number;
}

/** Options of the full set of triggers a Celery worker fleet scales on. */
export interface CeleryScalingTriggerOptions {
  /**
   * Waiting tasks per replica, for each queue and priority list.
   * @default 10
   */
  readonly tasksPerReplica?: number;
  /**
   * Unacknowledged tasks per replica (see `unackedTrigger`).
   * @default - the worker's concurrency
   */
  readonly unackedPerReplica?: number;
  /**
   * Also scale on the priority lists (`<queue>\x06\x163`, `...6`, `...9`) that producers fill when they
   * send with a priority.
   * @default true
   */
  readonly priorities?: boolean;
}

/**
 * A Deployment of `redis-keda celery-worker`: a Celery-protocol worker that shares queues, the
 * `unacked` bookkeeping and the result backend with Python Celery workers. Serves `/healthz`,
 * `/readyz` and `/metrics` on port 9090; termination grace matched to `grace`.
 */
export class CeleryWorker extends Construct {
  /** The workers' Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The worker container. */
  public readonly container: kplus.Container;
  /** The Redis broker and result backend. */
  public readonly connection: RedisConnection;
  /** The queues the workers consume. */
  public readonly queues: string[];
  /** Tasks each pod runs at the same time. */
  public readonly concurrency: number;
  /** Time a stopping pod keeps working on what it holds. */
  public readonly grace: Duration;
  /** Time a taken task may stay unacknowledged before it is restored. */
  public readonly visibilityTimeout: Duration;
  /** Lifetime of a stored result (0: forever). */
  public readonly resultExpires: Duration;
  /** What a worker does with a task no handler knows. */
  public readonly unknownTask: UnknownTaskPolicy;
  /** The PodMonitor scraping the workers, when asked for. */
  public readonly podMonitor?: PodMonitor;

  public constructor(scope: Construct, id: string, props: CeleryWorkerProps) {
    super(scope, id);
    checkInteger(this, 'concurrency', props.concurrency, 1);
    refuseCluster(this, props.connection);
    this.connection = props.connection;
    this.queues = props.queues ?? [DEFAULT_CELERY_QUEUE];
    this.checkQueues(this.queues);
    this.concurrency = props.concurrency ?? DEFAULT_CELERY_CONCURRENCY;
    this.visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS);
    this.resultExpires = props.resultExpires ?? Duration.seconds(DEFAULT_CELERY_RESULT_EXPIRES_SECONDS);
    checkWholeSeconds(this, 'visibilityTimeout', this.visibilityTimeout);
    checkWholeSeconds(this, 'resultExpires', this.resultExpires, 0);
    this.unknownTask = props.unknownTask ?? DEFAULT_UNKNOWN_TASK_POLICY;
    if (!UNKNOWN_TASK_POLICIES.includes(this.unknownTask)) {
      throw propError(this, 'unknownTask', this.unknownTask, `must be one of ${UNKNOWN_TASK_POLICIES.map((k) => JSON.stringify(k)).join(', ')}`);
    }
    if (props.tasks !== undefined && !props.tasks.startsWith('/')) {
      throw propError(this, 'tasks', props.tasks, 'must be an absolute path inside the image');
    }
    const worker = renderWorkerDeployment(this, props, {
      component: 'celery-worker',
      args: [Commands.CELERY_WORKER],
      env: {
        ...this.connection.envVariables(),
        [Env.CELERY_QUEUES]: kplus.EnvValue.fromValue(this.queues.join(',')),
        [Env.CELERY_CONCURRENCY]: kplus.EnvValue.fromValue(String(this.concurrency)),
        [Env.CELERY_VISIBILITY_TIMEOUT]: kplus.EnvValue.fromValue(String(this.visibilityTimeout.toSeconds())),
        [Env.CELERY_RESULT_EXPIRES]: kplus.EnvValue.fromValue(String(this.resultExpires.toSeconds())),
        [Env.CELERY_UNKNOWN_TASK]: kplus.EnvValue.fromValue(this.unknownTask),
        ...(props.tasks ? { [Env.CELERY_TASKS]: kplus.EnvValue.fromValue(props.tasks) } : {}),
        // The worker names itself redis-keda@<pod name> (Celery's hostname, in results and logs).
        [Env.POD_NAME]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      },
    });
    this.deployment = worker.deployment;
    this.container = worker.container;
    this.grace = worker.grace;
    this.podMonitor = worker.podMonitor;
    this.connection.allowFrom(this.deployment);
  }

  /**
   * KEDA's `redis` trigger on a queue's list: the tasks nobody has taken yet (`LLEN <queue>`),
   * which is all the original demo counted.
   */
  public queueTrigger(options: CeleryQueueTriggerOptions = {}): IKedaTrigger {
    const queue = options.queue ?? this.queues[0];
    if (!this.queues.includes(queue)) throw propError(this, 'queue', queue, `must be one of the worker's queues (${this.queues.join(', ')})`);
    return new RedisListTrigger(this, this.connection, queue, {
      name: triggerName(queue),
      listLength: options.listLength ?? 10,
      activationListLength: options.activationListLength,
    });
  }

  /**
   * One trigger per priority list of each queue (`<queue>\x06\x163`, `\x06\x166`, `\x06\x169`):
   * tasks sent with a priority wait there, where `LLEN <queue>` does not see them. The key keeps
   * kombu's control characters; cdk8s writes them as `\x06\x16` escapes in double-quoted YAML,
   * which kubectl reads back byte for byte.
   */
  public priorityTriggers(options: { readonly listLength?: number } = {}): IKedaTrigger[] {
    return this.queues.flatMap((queue) =>
      CELERY_PRIORITY_STEPS.filter((step) => step !== 0).map(
        (step) =>
          new RedisListTrigger(this, this.connection, celeryPriorityList(queue, step), {
            name: `${triggerName(queue)}-priority-${step}`,
            listLength: options.listLength ?? 10,
          }),
      ),
    );
  }

  /**
   * KEDA's `redis` trigger on kombu's `unacked` hash (HLEN): tasks taken by workers and not yet
   * acknowledged, i.e. running, prefetched, waiting for their `eta`, or held by a worker that died
   * (until the visibility timeout restores them). The hash is shared by every queue of the Redis
   * database, Python workers' tasks included, so it counts the whole database's work in hand.
   * Tasks held for a far `eta` count too: with many countdown tasks, give a higher `listLength`.
   */
  public unackedTrigger(options: CeleryUnackedTriggerOptions = {}): IKedaTrigger {
    return new RedisListTrigger(this, this.connection, CeleryKeys.UNACKED, {
      name: 'unacked',
      listLength: options.listLength ?? this.concurrency,
    });
  }

  /**
   * The triggers that see all of the fleet's work, so scale-in does not strand tasks: each queue's
   * list (what the original demo counted), the priority lists, and the `unacked` hash with
   * `concurrency` per pod. With the queue lists alone KEDA would shrink the fleet, down to zero,
   * while workers still run long tasks or hold `eta` tasks; and a task whose worker was killed sits
   * in `unacked` until a running worker restores it after the visibility timeout: at zero pods
   * nobody would. The unacked trigger keeps at least one pod alive while such tasks exist.
   */
  public scalingTriggers(options: CeleryScalingTriggerOptions = {}): IKedaTrigger[] {
    checkInteger(this, 'tasksPerReplica', options.tasksPerReplica, 1);
    checkInteger(this, 'unackedPerReplica', options.unackedPerReplica, 1);
    const listLength = options.tasksPerReplica ?? 10;
    return [
      ...this.queues.map((queue) => this.queueTrigger({ queue, listLength })),
      ...((options.priorities ?? true) ? this.priorityTriggers({ listLength }) : []),
      this.unackedTrigger({ listLength: options.unackedPerReplica }),
    ];
  }

  private checkQueues(queues: string[]): void {
    if (queues.length === 0) throw propError(this, 'queues', '[]', 'must name at least one queue');
    for (const q of queues) {
      if (!q || /[,\s]/.test(q)) throw propError(this, 'queues', q, 'must be a queue name without commas or white space');
      if (q.includes(CELERY_PRIORITY_SEPARATOR)) throw propError(this, 'queues', q, 'must be a bare queue name; its priority lists are consumed with it');
      if (q === CeleryKeys.UNACKED || q === CeleryKeys.UNACKED_INDEX || q === CeleryKeys.UNACKED_MUTEX) {
        throw propError(this, 'queues', q, "must not be one of kombu's bookkeeping keys");
      }
    }
    const dup = queues.find((q, i) => queues.indexOf(q) !== i);
    if (dup !== undefined) throw propError(this, 'queues', dup, 'must not be listed twice');
    // KEDA trigger names come from queue names; two queues must not share one, nor take the unacked trigger's.
    const names = queues.map(triggerName);
    const clash = queues.find((_q, i) => names.indexOf(names[i]) !== i || names[i] === 'unacked');
    if (clash !== undefined) throw propError(this, 'queues', clash, `gives the KEDA trigger name "${triggerName(clash)}" that another trigger has`);
  }
}

/** A KEDA trigger name from a queue name: lower-case letters, digits and dashes. */
function triggerName(queue: string): string {
  return queue.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}
