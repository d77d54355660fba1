/**
 * Celery on a Redis broker, as kombu 5.2's Redis transport lays it out (observed with Celery 5.2.6).
 * Python workers and ours share these keys, so none of them may change.
 */

/** The queue Celery sends to and consumes unless told otherwise. */
export const DEFAULT_CELERY_QUEUE = 'celery';
/** kombu's priority steps: priority 0 is the bare queue name and is served first. */
export const CELERY_PRIORITY_STEPS = [0, 3, 6, 9] as const;
/** kombu's separator between a queue name and its priority step. */
export const CELERY_PRIORITY_SEPARATOR = '\x06\x16';
/** The Redis list of one queue at one priority step: `celery`, `celery\x06\x163`, ... */
export function celeryPriorityList(queue: string, priority: number): string {
  return priority === 0 ? queue : `${queue}${CELERY_PRIORITY_SEPARATOR}${priority}`;
}
/** Redis keys of kombu's bookkeeping and Celery's result backend. */
export const CeleryKeys = {
  /** Hash: delivery tag -> JSON `[message, exchange, routing_key]` of each unacknowledged message. */
  UNACKED: 'unacked',
  /** Zset: delivery tag -> time (s) it was taken; restored after the visibility timeout. */
  UNACKED_INDEX: 'unacked_index',
  /** Lock held while a worker restores timed-out messages (redis-py Lock: SET NX PX). */
  UNACKED_MUTEX: 'unacked_mutex',
  /** Set of `routing_key\x06\x16pattern\x06\x16queue` bindings of an exchange (`""` for Celery's default). */
  binding: (exchange: string) => `_kombu.binding.${exchange}`,
  /** String and PUBLISH channel of a task's result. */
  taskMeta: (taskId: string) => `celery-task-meta-${taskId}`,
  /** Our dead-letter list of messages no worker can parse ({@link DeadLetter} entries). */
  dead: (queue: string) => `${queue}:dead`,
} as const;
/** kombu's default visibility timeout (s). */
export const DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS = 3600;
/** Celery's default `result_expires` (s). */
export const DEFAULT_CELERY_RESULT_EXPIRES_SECONDS = 86400;
/** Tasks one worker process runs at the same time. */
export const DEFAULT_CELERY_CONCURRENCY = 4;
/** The demo's task: stores a user registration in a `users:<n>` hash and returns the hash name. */
export const DEMO_CELERY_TASK = 'users.register';
/** Keys of the demo task DEMO_CELERY_TASK: a counter gives n, the registration goes to the hash `users:<n>`. */
export const CeleryDemoKeys = {
  /** INCR'd once per registration. */
  COUNTER: 'users:counter',
  user: (n: number) => `users:${n}`,
} as const;
/** Tasks a worker holds waiting for their eta, at most; past it the worker stops claiming until one is due. */
export const DEFAULT_CELERY_MAX_ETA_HELD = 1000;
/** Seconds between tasks of `celery-send --forever` (the demo's producer sent one a second). */
export const DEFAULT_CELERY_SEND_INTERVAL_SECONDS = 1;

/**
 * What a worker does with a task whose name no handler knows: `fail` stores a FAILURE (NotRegistered), so the
 * caller's `AsyncResult.get()` raises instead of waiting forever; `requeue` puts the message back on its queue,
 * for a fleet shared with Python workers that know the task.
 */
export const UNKNOWN_TASK_POLICIES = ['fail', 'requeue'] as const;
/** One of {@link UNKNOWN_TASK_POLICIES}. */
export type UnknownTaskPolicy = (typeof UNKNOWN_TASK_POLICIES)[number];
/** Unknown tasks fail unless told otherwise. */
export const DEFAULT_UNKNOWN_TASK_POLICY: UnknownTaskPolicy = 'fail';
