/**
 * Running one task: binds its arguments, runs the handler under Celery's time limits and with its
 * canvas (chain steps, callbacks, errbacks as follow-ups stored in the same step as the result),
 * then stores the result and acknowledges (acks_late) through the finisher.
 */
import { performance } from 'perf_hooks';
import type Redis from 'ioredis';
import { errorMessage, Logger } from '../log';
import { checkCanvas, failureFollowUps, successFollowUps, UnsupportedCanvas } from './canvas';
import type { Finisher } from './finisher';
import type { HeldTask } from './held-tasks';
import type { CeleryTask } from './message';
import type { CeleryWorkerMetrics } from './metrics';
import type { TaskMessage } from './producer';
import { failureJson, successJson, toCeleryException, traceback } from './results';
import { resultMeta, Settler } from './settle';
import { Task, TaskContext, TaskRegistry } from './tasks';
import { withTimeLimits } from './time-limits';

/** What running a task needs of its consumer. */
export interface TaskRunDeps {
  readonly tasks: TaskRegistry;
  readonly hostname: string;
  readonly redis: Redis;
  readonly log: Logger;
  readonly metrics: CeleryWorkerMetrics;
  readonly finisher: Finisher;
  readonly settler: Settler;
  /** The handler returned (or its time limit passed and it returned since): its slot is free. */
  slotFree(): void;
  /** The task is done with (its result landed, or it was handed back meanwhile). */
  done(held: HeldTask): void;
}

/** Runs a held task to its end; never rejects. */
export async function runTask(held: HeldTask, deps: TaskRunDeps): Promise<void> {
  const { metrics, finisher } = deps;
  const { task } = held;
  const definition = deps.tasks.get(task.name) as Task;
  held.state = 'running';
  const abort = (held.abort = new AbortController());
  const started = performance.now();
  let result: string;
  let state: 'SUCCESS' | 'FAILURE';
  let failure: unknown;
  let followUps: TaskMessage[] = [];
  // Results of tasks that would wait forever on a canvas this worker cannot run.
  let orphans: string[] = [];
  const running = invoke(definition, task, abort.signal, deps);
  const limits = task.timeLimit ? withTimeLimits(running, task.timeLimit, abort) : undefined;
  try {
    const value = await (limits?.outcome ?? running);
    const next = task.embed ? successFollowUps(task, value) : undefined;
    result = successJson(resultMeta(task), value, next?.children);
    state = result.startsWith('{"status": "SUCCESS"') ? 'SUCCESS' : 'FAILURE';
    if (state === 'SUCCESS' && next) followUps = next.messages;
  } catch (error) {
    failure = error;
    const exc = error instanceof UnsupportedCanvas ? error.exception : toCeleryException(error);
    result = failureJson(resultMeta(task), exc, traceback(error, exc));
    state = 'FAILURE';
    if (error instanceof UnsupportedCanvas) orphans = error.waiting;
    else if (task.embed) followUps = failureFollowUps(task).messages;
  }
  limits?.clear();
  const seconds = (performance.now() - started) / 1000;
  const freeSlot = () => deps.slotFree();
  // Past its hard limit a handler cannot be killed (one process runs them all): it keeps its slot until it returns.
  if (limits?.hardFired) void running.then(freeSlot, freeSlot).finally(() => deps.done(held));
  else freeSlot();
  if (held.handedBack) return;
  held.state = 'finishing';
  metrics.taskSeconds.observe({ task: task.name }, seconds);
  for (const id of orphans) {
    void finisher.write({ tag: '', taskId: id, result: failureJson({ taskId: id }, (failure as UnsupportedCanvas).exception, null) });
  }
  const landed = await finisher.write({ tag: held.delivery.tag, taskId: task.id, result: task.ignoreResult ? undefined : result, followUps });
  deps.done(held);
  if (!landed) return;
  metrics.tasks.inc({ task: task.name, state });
  deps.settler.tally[state === 'SUCCESS' ? 'succeeded' : 'failed']++;
  const fields = { taskId: task.id, task: task.name, seconds: Math.round(seconds * 1e6) / 1e6 };
  // At info, a line per task would be most of the log at thousands of tasks a second.
  if (state === 'SUCCESS') deps.log.debug('task succeeded', fields);
  else deps.log.warn('task failed', { ...fields, error: errorMessage(failure ?? 'result is not JSON serializable') });
}

/** Binds the arguments and runs the handler; rejects with whatever makes the task fail. */
async function invoke(definition: Task, task: CeleryTask, signal: AbortSignal, deps: TaskRunDeps): Promise<unknown> {
  checkCanvas(task);
  const args = definition.bind(task.args, task.kwargs);
  return definition.definition.run(...args, new TaskRunContext(task, deps, signal));
}

/** The task's view of its run; the child logger is made only if the task asks for it. */
class TaskRunContext implements TaskContext {
  private child?: Logger;

  constructor(
    private readonly task: CeleryTask,
    private readonly deps: TaskRunDeps,
    readonly signal: AbortSignal,
  ) {}

  get id(): string {
    return this.task.id;
  }
  get name(): string {
    return this.task.name;
  }
  get retries(): number {
    return this.task.retries;
  }
  get hostname(): string {
    return this.deps.hostname;
  }
  get redis(): Redis {
    return this.deps.redis;
  }
  get log(): Logger {
    return (this.child ??= this.deps.log.child({ taskId: this.task.id, task: this.task.name }));
  }
}
