/**
 * Where a claimed message goes, in the order Celery looks: malformed (dead-lettered), a task this
 * worker does not run (NotRegistered, or handed back with `--unknown-task requeue`), expired or
 * revoked (REVOKED), an integer beyond 2**53 (refused), else held: due now or at its eta.
 */
import type { Delivery } from './broker';
import { canvasSupported } from './canvas';
import type { CeleryConsumerOptions } from './consumer-options';
import type { RevokedIds } from './control';
import type { HeldTasks } from './held-tasks';
import { decodeMessage } from './message';
import { integerTooLarge } from './results';
import type { Settler } from './settle';

/** What became of a claimed message: held (to run), settled without running, or handed back for other workers. */
export type Route = 'held' | 'settled' | 'requeued';

export interface RoutingDeps {
  readonly options: Pick<CeleryConsumerOptions, 'tasks' | 'unknownTask' | 'log'>;
  readonly settler: Settler;
  readonly held: HeldTasks;
  readonly revoked: RevokedIds;
}

/** Sorts a claimed message: run now, hold for its eta, settle it without running (malformed, unknown, expired), or hand it back (unknown). */
export function route(delivery: Delivery, { options, settler, held: heldTasks, revoked }: RoutingDeps): Route {
  const decoded = decodeMessage(delivery.raw.toString('utf8'));
  if (!decoded.ok) {
    settler.background(settler.deadLetter(delivery, decoded.error, decoded.kind, decoded.taskId, decoded.taskName));
    return 'settled';
  }
  const task = decoded.task;
  const now = Date.now();
  // Celery looks the task up before anything else: an unknown task is NotRegistered even if expired.
  // In a fleet shared with Python workers, a canvas this worker cannot run (a chord) is theirs too.
  const known = options.tasks.get(task.name) !== undefined;
  const requeue = options.unknownTask === 'requeue';
  if (!known || (requeue && (!canvasSupported(task) || task.unsafeInteger !== undefined))) {
    const why = !known ? 'name' : task.unsafeInteger !== undefined ? 'integer' : 'canvas';
    settler.background(requeue ? settler.requeue(delivery, task, why) : settler.notRegistered(delivery, task));
    return requeue ? 'requeued' : 'settled';
  }
  if (task.expires !== undefined && task.expires <= now) {
    settler.background(settler.revoke(delivery, task, 'expired'));
    return 'settled';
  }
  // Run on rounded numbers it would give a wrong answer that looks right: fail it instead.
  if (task.unsafeInteger !== undefined) {
    settler.background(settler.refuse(delivery, task, integerTooLarge(task.unsafeInteger)));
    return 'settled';
  }
  if (revoked.has(task.id)) {
    settler.background(settler.revoke(delivery, task, 'revoked'));
    return 'settled';
  }
  const held = heldTasks.hold(delivery, task, now);
  if (held.state === 'eta') options.log.info('task received, waiting for its eta', { taskId: task.id, task: task.name, eta: new Date(task.eta ?? 0).toISOString() });
  return 'held';
}
