/**
 * The ways a message is settled without running its task: dead-lettered (malformed), refused
 * (FAILURE stored, e.g. an integer beyond 2**53), revoked or expired (REVOKED stored), unknown
 * (FAILURE NotRegistered, or handed back to the queue for other workers). Each runs in the
 * background; stop waits for them.
 */
import { errorMessage, Logger } from '../log';
import { untilLanded } from '../redis/retry';
import type { CeleryBroker, Delivery } from './broker';
import type { CeleryTask } from './message';
import type { CeleryWorkerMetrics } from './metrics';
import { CeleryException, failureJson, notRegistered, RevokeReason, taskRevoked } from './results';

/** What a Celery consumer did, for the line it logs when it stops. */
export interface CeleryTally {
  succeeded: number;
  failed: number;
  revoked: number;
  deadLettered: number;
  requeued: number;
  handedBack: number;
}

/** Why a task is not this worker's: its name, (requeue only) a canvas for Python workers, or an integer beyond 2**53. */
export type NotOurs = 'name' | 'canvas' | 'integer';

/** The ids Celery's result meta carries. */
export function resultMeta(task: CeleryTask) {
  return { taskId: task.id, group: task.group, parentId: task.parentId };
}

export class Settler {
  readonly tally: CeleryTally = { succeeded: 0, failed: 0, revoked: 0, deadLettered: 0, requeued: 0, handedBack: 0 };
  /** Settling under way, which stop waits for. */
  private readonly side = new Set<Promise<unknown>>();

  constructor(
    private readonly broker: CeleryBroker,
    private readonly metrics: CeleryWorkerMetrics,
    private readonly log: Logger,
    /** Until when a settling call is retried (local ms). */
    private readonly giveUpAt: () => number,
    /** The task names this worker runs, for the NotRegistered line. */
    private readonly known: readonly string[],
  ) {}

  /** Runs a Redis call until it lands (or the hand-off time of a stop is over). */
  untilLanded<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    return untilLanded(what, call, this.giveUpAt, this.log, 'the message stays unacknowledged until the visibility timeout');
  }

  /** Settles in the background: never rejects, stop waits for it. */
  background(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.log.error('unexpected failure', { error: errorMessage(error) }));
    this.side.add(tracked);
    void tracked.finally(() => this.side.delete(tracked));
  }

  /** Resolves once everything settling now has settled. */
  async drain(): Promise<void> {
    await Promise.all(this.side);
  }

  async deadLetter(delivery: Delivery, error: string, kind: 'content' | 'decode', taskId?: string, taskName?: string): Promise<void> {
    let result: { taskId: string; json: string } | undefined;
    if (taskId) {
      // kombu's own errors for a message it cannot take; a caller waiting on the id gets one instead of hanging.
      const exc = { exc_type: kind === 'content' ? 'ContentDisallowed' : 'DecodeError', exc_message: [error], exc_module: 'kombu.exceptions' };
      result = { taskId, json: failureJson({ taskId }, exc, null) };
    }
    await this.untilLanded('dead-letter', () => this.broker.deadLetter(delivery, error, result));
    this.metrics.deadLettered.inc();
    this.tally.deadLettered++;
    this.log.warn('malformed message dead-lettered', { tag: delivery.tag, queue: delivery.queue, taskId, task: taskName, error, reason: 'malformed' });
  }

  /** Stores FAILURE with `exc` and acknowledges, without running the task. */
  async refuse(delivery: Delivery, task: CeleryTask, exc: CeleryException): Promise<void> {
    const json = failureJson(resultMeta(task), exc, null);
    await this.untilLanded('refusal', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'FAILURE' });
    this.tally.failed++;
    this.log.warn('task not run', { taskId: task.id, task: task.name, error: exc.exc_message[0] });
  }

  async revoke(delivery: Delivery, task: CeleryTask, reason: RevokeReason): Promise<void> {
    const json = failureJson(resultMeta(task), taskRevoked(reason), null, 'REVOKED');
    await this.untilLanded('revoke', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'REVOKED' });
    this.tally.revoked++;
    const fields = { taskId: task.id, task: task.name, reason };
    if (reason === 'expired') this.log.warn('task expired; not run', { ...fields, expires: new Date(task.expires ?? 0).toISOString() });
    else this.log.warn(reason === 'terminated' ? 'task revoked while running; its outcome is dropped' : 'task revoked; not run', fields);
  }

  /** Hands a task this worker does not run back to its queue, for other workers. */
  async requeue(delivery: Delivery, task: CeleryTask, why: NotOurs): Promise<void> {
    await this.untilLanded('requeue', () => this.broker.requeue(delivery, task.priority));
    this.metrics.tasks.inc({ task: task.name, state: 'REQUEUED' });
    this.tally.requeued++;
    const what = { name: 'unknown task', canvas: 'task with a canvas this worker cannot run', integer: 'task with an integer beyond 2**53' }[why];
    this.log.info(`${what} handed back to the queue for other workers`, { taskId: task.id, task: task.name, queue: delivery.queue });
  }

  /** Stores FAILURE NotRegistered for a task whose name this worker does not know. */
  async notRegistered(delivery: Delivery, task: CeleryTask): Promise<void> {
    const json = failureJson(resultMeta(task), notRegistered(task.name), null);
    await this.untilLanded('unknown task', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'FAILURE' });
    this.tally.failed++;
    this.log.warn('unknown task; stored FAILURE NotRegistered', { taskId: task.id, task: task.name, known: this.known });
  }
}
