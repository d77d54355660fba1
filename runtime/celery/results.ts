/**
 * Task results as Celery's Redis result backend writes them (celery-task-meta-<id>), so Python's
 * `AsyncResult.get()` returns the value or raises the exception. Failures name a Python exception
 * type and module that Celery's `exception_to_python` can import on the client side: builtins for
 * plain errors, celery.exceptions for Celery's own.
 */
import { performance } from 'perf_hooks';

export type CeleryState = 'SUCCESS' | 'FAILURE' | 'REVOKED';

/** The exception a FAILURE or REVOKED result carries, as Celery serializes it with JSON. */
export interface CeleryException {
  readonly exc_type: string;
  readonly exc_message: unknown[];
  readonly exc_module: string;
}

/**
 * Throw this from a task to choose the Python exception the caller sees, e.g.
 * `throw new TaskError('KeyError', ['user'])` or with a module of your own Python code that the
 * client imports: `new TaskError('QuotaExceeded', ['limit'], 'myapp.errors')`. An unknown module
 * or name becomes a generic exception on the Python side.
 */
export class TaskError extends Error {
  constructor(
    readonly excType: string,
    readonly excArgs: readonly unknown[] = [],
    readonly excModule: string = 'builtins',
  ) {
    super(excArgs.length > 0 ? excArgs.map(String).join(', ') : excType);
    this.name = excType;
  }
}

/** Python's TypeError for bad task arguments (`add() missing 1 required positional argument: 'b'`). */
export function pythonTypeError(message: string): TaskError {
  return new TaskError('TypeError', [message]);
}

/** The Python exception a thrown value stands for. */
export function toCeleryException(error: unknown): CeleryException {
  if (error instanceof TaskError) return { exc_type: error.excType, exc_message: [...error.excArgs], exc_module: error.excModule };
  const carried = error as { excType?: unknown; excModule?: unknown; excArgs?: unknown } | null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : safeJson(error);
  if (carried && typeof carried === 'object' && typeof carried.excType === 'string') {
    // An error of a user's module built without TaskError, but following its shape.
    return {
      exc_type: carried.excType,
      exc_message: Array.isArray(carried.excArgs) ? carried.excArgs : [message],
      exc_module: typeof carried.excModule === 'string' ? carried.excModule : 'builtins',
    };
  }
  return { exc_type: pythonTypeName(error), exc_message: [message], exc_module: 'builtins' };
}

/** JS error classes to the Python builtins a caller would expect for them. */
function pythonTypeName(error: unknown): string {
  if (error instanceof TypeError) return 'TypeError';
  if (error instanceof RangeError) return 'ValueError';
  if (error instanceof SyntaxError) return 'ValueError';
  return 'Exception';
}

/** Celery's NotRegistered for a task no handler knows. */
/** Python's OverflowError, for an integer this worker would round. */
export function integerTooLarge(literal: string): CeleryException {
  return { exc_type: 'OverflowError', exc_message: [`integer ${literal} is beyond what redis-keda celery-worker holds exactly (2**53 - 1)`], exc_module: 'builtins' };
}

export function notRegistered(name: string): CeleryException {
  return { exc_type: 'NotRegistered', exc_message: [name], exc_module: 'celery.exceptions' };
}

/** billiard's SoftTimeLimitExceeded: what a task's signal aborts with at its soft time limit (throw it to fail as Celery would). */
export function softTimeLimitExceeded(): TaskError {
  return new TaskError('SoftTimeLimitExceeded', [], 'billiard.exceptions');
}

/** billiard's TimeLimitExceeded, stored when a task outlives its hard time limit. */
export function timeLimitExceeded(seconds: number): TaskError {
  return new TaskError('TimeLimitExceeded', [seconds], 'billiard.exceptions');
}

/** Why a task was revoked, in Celery's words. */
export type RevokeReason = 'expired' | 'revoked' | 'terminated';

/** Celery's TaskRevokedError, as a worker stores it for an expired or revoked task. */
export function taskRevoked(reason: RevokeReason): CeleryException {
  return { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' };
}

/** A Python-looking traceback string for a FAILURE (the JS stack, then `Type: message`). */
export function traceback(error: unknown, exc: CeleryException): string {
  const frames =
    error instanceof Error && error.stack
      ? error.stack
          .split('\n')
          .filter((l) => /^\s+at /.test(l))
          .map((l) => `  ${l.trim()}`)
      : [];
  const message = exc.exc_message.map((m) => (typeof m === 'string' ? m : safeJson(m))).join(', ');
  return `Traceback (most recent call last):\n${frames.join('\n')}${frames.length ? '\n' : ''}${exc.exc_type}: ${message}\n`;
}

export interface ResultMeta {
  readonly taskId: string;
  readonly group?: string;
  readonly parentId?: string;
}

/**
 * The JSON of a result, field for field what Celery 5.2 stores: status, result, traceback,
 * children, date_done, (group_id, parent_id when the request had them,) task_id. The separators
 * are Python's `json.dumps` defaults. A result that JSON cannot carry becomes an EncodeError failure.
 */
export function successJson(meta: ResultMeta, value: unknown, children: readonly unknown[] = []): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    return failureJson(meta, { exc_type: 'EncodeError', exc_message: [`result is not JSON serializable: ${(error as Error).message}`], exc_module: 'kombu.exceptions' }, null);
  }
  return metaJson('SUCCESS', meta, json ?? 'null', 'null', children.length > 0 ? JSON.stringify(children) : '[]');
}

export function failureJson(meta: ResultMeta, exc: CeleryException, tb: string | null, state: 'FAILURE' | 'REVOKED' = 'FAILURE'): string {
  return metaJson(state, meta, safeJson(exc), tb === null ? 'null' : JSON.stringify(tb));
}

function metaJson(state: CeleryState, meta: ResultMeta, result: string, tb: string, children = '[]'): string {
  const group = meta.group ? `, "group_id": ${JSON.stringify(meta.group)}` : '';
  const parent = meta.parentId ? `, "parent_id": ${JSON.stringify(meta.parentId)}` : '';
  return `{"status": "${state}", "result": ${result}, "traceback": ${tb}, "children": ${children}, "date_done": "${dateDone()}"${group}${parent}, "task_id": ${JSON.stringify(meta.taskId)}}`;
}

/** Now as Python's `datetime.utcnow().isoformat()`: naive UTC, microseconds unless they are 0. */
export function dateDone(epochMicros: number = Math.round((performance.timeOrigin + performance.now()) * 1000)): string {
  const ms = Math.floor(epochMicros / 1000);
  const micros = epochMicros - ms * 1000 + (ms % 1000) * 1000;
  const seconds = new Date(ms - (ms % 1000)).toISOString().slice(0, 19);
  return micros === 0 ? seconds : `${seconds}.${String(micros).padStart(6, '0')}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v === undefined ? null : v)) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
