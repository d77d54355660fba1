/**
 * Celery's canvas on our worker: what a Celery 5.2 worker sends on after a task, built as
 * messages so the worker pushes them in the same step as the result.
 *
 * - SUCCESS: each link callback is applied with the result prepended to its args (unless the
 *   signature is immutable); the chain's next step (the LAST element of `chain`: the list is
 *   stored last step first) likewise, carrying the rest of the chain. Both get parent_id = this
 *   task and root_id = this task's root, and appear in the result's `children`.
 * - FAILURE: each errback is applied with the task id as its only extra argument (how Celery
 *   calls an errback it cannot call inline).
 * - Plain task signatures only. A group, chord or nested chain among them, or a chord header
 *   task, cannot be run faithfully here: the task fails with NotImplementedError, and so do the
 *   tasks waiting on it (their ids are known), so callers fail fast instead of waiting forever.
 */
import { randomUUID } from 'crypto';
import { DEFAULT_CELERY_QUEUE } from '../contract';
import type { CeleryTask } from './message';
import { buildTaskMessage, TaskMessage } from './producer';
import { CeleryException } from './results';

interface Signature {
  readonly task: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly options: Record<string, unknown>;
  readonly immutable: boolean;
}

export interface FollowUps {
  readonly messages: TaskMessage[];
  /** Celery's `children` of the result: `[[id, null], null]` per task sent. */
  readonly children: unknown[];
}

/** The canvas of a task cannot be run by this worker; `waiting` are the ids of tasks that would never come. */
export class UnsupportedCanvas extends Error {
  constructor(
    message: string,
    readonly waiting: string[],
  ) {
    super(message);
    this.name = 'UnsupportedCanvas';
  }

  get exception(): CeleryException {
    return { exc_type: 'NotImplementedError', exc_message: [this.message], exc_module: 'builtins' };
  }
}

const NONE: FollowUps = { messages: [], children: [] };

/** Throws UnsupportedCanvas before the task runs if its follow-ups cannot be sent faithfully. */
export function checkCanvas(task: CeleryTask): void {
  const embed = task.embed;
  if (!embed) return;
  const waiting = [...list(embed.chain), ...list(embed.callbacks), ...list(embed.errbacks)].map(taskIdOf).filter((id): id is string => id !== undefined);
  if (embed.chord !== null && embed.chord !== undefined) {
    const body = taskIdOf(embed.chord);
    throw new UnsupportedCanvas(`chords are not supported by redis-keda celery-worker (task ${task.name}[${task.id}] is a chord header)`, body ? [body, ...waiting] : waiting);
  }
  for (const [what, value] of [
    ['chain', embed.chain],
    ['link', embed.callbacks],
    ['link_error', embed.errbacks],
  ] as const) {
    for (const sig of list(value)) {
      if (!plain(sig)) {
        const type = (sig as { subtask_type?: unknown })?.subtask_type;
        throw new UnsupportedCanvas(`a ${String(type ?? 'malformed')} signature in '${what}' is not supported by redis-keda celery-worker (only plain task signatures)`, waiting);
      }
    }
  }
}

/** Whether this worker can run the task's canvas faithfully (see checkCanvas). */
export function canvasSupported(task: CeleryTask): boolean {
  try {
    checkCanvas(task);
    return true;
  } catch (error) {
    if (error instanceof UnsupportedCanvas) return false;
    throw error;
  }
}

/** What Celery sends on after a SUCCESS with `value`. */
export function successFollowUps(task: CeleryTask, value: unknown): FollowUps {
  const embed = task.embed;
  if (!embed) return NONE;
  const messages: TaskMessage[] = [];
  for (const sig of list(embed.callbacks).map(signature)) messages.push(apply(sig, [value], task));
  const chain = list(embed.chain);
  if (chain.length > 0) {
    const rest = chain.slice(0, -1);
    messages.push(apply(signature(chain[chain.length - 1]), [value], task, rest.length > 0 ? rest : null));
  }
  return { messages, children: messages.map((m) => [[m.id, null], null]) };
}

/** What Celery sends on after a FAILURE: the errbacks, called with the task id. */
export function failureFollowUps(task: CeleryTask): FollowUps {
  const messages = list(task.embed?.errbacks)
    .map(signature)
    .map((sig) => apply(sig, [task.id], task));
  return { messages, children: [] };
}

/** Signature.apply_async((extra,), parent_id=..., root_id=..., priority=...) as a message. */
function apply(sig: Signature, extra: unknown[], parent: CeleryTask, chain: unknown[] | null = null): TaskMessage {
  const o = sig.options;
  const priority = parent.priority ?? (typeof o.priority === 'number' ? o.priority : undefined);
  return buildTaskMessage({
    task: sig.task,
    args: sig.immutable ? sig.args : [...extra, ...sig.args],
    kwargs: sig.kwargs,
    id: typeof o.task_id === 'string' ? o.task_id : randomUUID(),
    queue: queueOf(o),
    priority: priority !== undefined && Number.isInteger(priority) && priority >= 0 && priority <= 9 ? priority : undefined,
    replyTo: typeof o.reply_to === 'string' ? o.reply_to : undefined,
    parentId: parent.id,
    rootId: parent.rootId ?? parent.id,
    group: typeof o.group_id === 'string' ? o.group_id : undefined,
    embed: { callbacks: o.link ?? null, errbacks: o.link_error ?? null, chain },
  });
}

/** Where a signature's options route it; Celery's default queue otherwise (no task_routes here). */
function queueOf(options: Record<string, unknown>): string {
  const q = options.queue;
  if (typeof q === 'string' && q !== '') return q;
  if (q && typeof q === 'object' && typeof (q as { name?: unknown }).name === 'string') return (q as { name: string }).name;
  if (typeof options.routing_key === 'string' && options.routing_key !== '') return options.routing_key;
  return DEFAULT_CELERY_QUEUE;
}

function list(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function plain(sig: unknown): boolean {
  const s = sig as Record<string, unknown> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.task === 'string' &&
    (s.subtask_type === null || s.subtask_type === undefined) &&
    (s.args === undefined || Array.isArray(s.args)) &&
    (s.kwargs === undefined || (typeof s.kwargs === 'object' && s.kwargs !== null && !Array.isArray(s.kwargs)))
  );
}

function signature(value: unknown): Signature {
  const s = value as Record<string, unknown>;
  return {
    task: s.task as string,
    args: (s.args as unknown[] | undefined) ?? [],
    kwargs: (s.kwargs as Record<string, unknown> | undefined) ?? {},
    options: typeof s.options === 'object' && s.options !== null ? (s.options as Record<string, unknown>) : {},
    immutable: s.immutable === true,
  };
}

function taskIdOf(sig: unknown): string | undefined {
  const id = (sig as { options?: { task_id?: unknown } } | null)?.options?.task_id;
  return typeof id === 'string' ? id : undefined;
}
