/**
 * Celery tasks as TypeScript handlers, registered by name. A task declares its Python-style
 * parameter names, so a message's positional args and kwargs bind the way Python binds them, and
 * bad calls fail with Python's TypeError message.
 *
 * A user module (`--tasks <path>`, CommonJS or ESM) exports tasks as its default export, as
 * `module.exports`, or as a named `tasks` export: one task or an array of them.
 *
 * ```ts
 * import { defineTask } from 'cdk8s-redis-keda/lib/runtime';
 * export default [
 *   defineTask('billing.charge', ['account', 'cents', 'currency?'], async (account, cents, currency, ctx) => {
 *     await ctx.redis.incrby(`balance:${account}`, -Number(cents));
 *     return { account, cents, currency: currency ?? 'EUR' };
 *   }),
 * ];
 * ```
 *
 * Parameters: `'name'` required, `'name?'` optional (undefined when not given), `'*args'` the
 * remaining positional args as an array, `'**kwargs'` the remaining keyword args as an object.
 * The handler gets the bound values in declaration order, then the {@link TaskContext}.
 * Throw to fail the task: a TaskError names the Python exception; a JS TypeError becomes Python's
 * TypeError, a RangeError ValueError, any other error Exception.
 */
import { resolve } from 'path';
import { pathToFileURL } from 'url';
import type Redis from 'ioredis';
import type { Logger } from '../log';
import { pythonTypeError } from './results';

/** What a running task may use besides its arguments. */
export interface TaskContext {
  /** The task id (the result's key is celery-task-meta-<id>). */
  readonly id: string;
  readonly name: string;
  /** Celery's retry count of this task. */
  readonly retries: number;
  /** The worker's name, e.g. `redis-keda@pod-1`. */
  readonly hostname: string;
  /** The broker connection; shared, so never use blocking commands or SELECT on it. */
  readonly redis: Redis;
  /**
   * Aborts at the task's soft time limit, with a SoftTimeLimitExceeded TaskError as its reason:
   * `ctx.signal.throwIfAborted()` fails the task as a Python task fails (or catch it, clean up,
   * and return). Also aborts at its hard time limit (the task has failed with TimeLimitExceeded;
   * its slot stays busy until the handler returns) and when the worker's grace period after
   * SIGTERM is over (the task is handed back; its result is ignored).
   */
  readonly signal: AbortSignal;
  readonly log: Logger;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskHandler = (...args: any[]) => unknown;

export interface TaskDefinition {
  readonly name: string;
  /** Python-style parameters: 'a', 'b?', '*args', '**kwargs'. */
  readonly params: readonly string[];
  readonly run: TaskHandler;
}

/** A task: its name, its parameters, and the handler called with the bound arguments then the context. */
export function defineTask(name: string, params: readonly string[], run: TaskHandler): TaskDefinition {
  if (typeof name !== 'string' || name === '') throw new Error(`task name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (!Array.isArray(params)) throw new Error(`task '${name}': params must be an array of parameter names`);
  if (typeof run !== 'function') throw new Error(`task '${name}': handler must be a function`);
  parseParams(name, params);
  return { name, params: [...params], run };
}

interface Params {
  readonly positional: { readonly name: string; readonly optional: boolean }[];
  readonly varArgs: boolean;
  readonly varKwargs: boolean;
}

function parseParams(task: string, params: readonly string[]): Params {
  const positional: { name: string; optional: boolean }[] = [];
  let varArgs = false;
  let varKwargs = false;
  for (const p of params) {
    if (typeof p !== 'string' || !/^(\*\*?)?[A-Za-z_]\w*\??$/.test(p))
      throw new Error(`task '${task}': parameter ${JSON.stringify(p)} must look like 'a', 'a?', '*args' or '**kwargs'`);
    if (varKwargs) throw new Error(`task '${task}': '**kwargs' must be the last parameter`);
    if (p.startsWith('**')) varKwargs = true;
    else if (p.startsWith('*')) {
      if (varArgs) throw new Error(`task '${task}': only one '*args' parameter`);
      varArgs = true;
    } else {
      if (varArgs) throw new Error(`task '${task}': parameter '${p}' after '*args' (keyword-only parameters are not supported)`);
      const optional = p.endsWith('?');
      const name = optional ? p.slice(0, -1) : p;
      const last = positional[positional.length - 1];
      if (last?.optional && !optional) throw new Error(`task '${task}': required parameter '${name}' follows an optional one`);
      positional.push({ name, optional });
    }
  }
  return { positional, varArgs, varKwargs };
}

/** A registered task with its parameters parsed once. */
export interface Task {
  readonly name: string;
  readonly definition: TaskDefinition;
  /** The handler's arguments (without the context); throws Python's TypeError for a bad call. */
  bind(args: readonly unknown[], kwargs: Record<string, unknown>): unknown[];
}

export class TaskRegistry {
  private readonly tasks = new Map<string, Task>();

  constructor(definitions: Iterable<TaskDefinition> = []) {
    for (const d of definitions) this.register(d);
  }

  /** Adds a task; a later one of the same name replaces the earlier (a user module may override a built-in). */
  register(definition: TaskDefinition): void {
    const params = parseParams(definition.name, definition.params);
    const fn = definition.name.split('.').pop() as string;
    this.tasks.set(definition.name, { name: definition.name, definition, bind: (args, kwargs) => bindArguments(fn, params, args, kwargs) });
  }

  get(name: string): Task | undefined {
    return this.tasks.get(name);
  }

  get names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}

/** Python's call binding, with Python's messages (`add() missing 1 required positional argument: 'b'`). */
function bindArguments(fn: string, params: Params, args: readonly unknown[], kwargs: Record<string, unknown>): unknown[] {
  const { positional } = params;
  if (!params.varArgs && args.length > positional.length) {
    const total = positional.length;
    const min = positional.filter((p) => !p.optional).length;
    const takes = min === total ? `${total}` : `from ${min} to ${total}`;
    throw pythonTypeError(`${fn}() takes ${takes} positional argument${total === 1 && min === total ? '' : 's'} but ${args.length} ${args.length === 1 ? 'was' : 'were'} given`);
  }
  const bound: unknown[] = positional.map((_, i) => args[i]);
  const given = positional.map((_, i) => i < args.length);
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(kwargs)) {
    const index = positional.findIndex((p) => p.name === key);
    if (index < 0) {
      if (!params.varKwargs) throw pythonTypeError(`${fn}() got an unexpected keyword argument '${key}'`);
      rest[key] = kwargs[key];
    } else if (given[index]) {
      throw pythonTypeError(`${fn}() got multiple values for argument '${key}'`);
    } else {
      bound[index] = kwargs[key];
      given[index] = true;
    }
  }
  const missing = positional.filter((p, i) => !p.optional && !given[i]).map((p) => `'${p.name}'`);
  if (missing.length > 0) {
    const list = missing.length === 1 ? missing[0] : missing.length === 2 ? missing.join(' and ') : `${missing.slice(0, -1).join(', ')}, and ${missing[missing.length - 1]}`;
    throw pythonTypeError(`${fn}() missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${list}`);
  }
  if (params.varArgs) bound.push(args.slice(positional.length));
  if (params.varKwargs) bound.push(rest);
  return bound;
}

/** Loads a user's tasks module (path relative to `cwd`); throws saying what it should export. */
export async function loadTasks(modulePath: string, cwd: string = process.cwd()): Promise<TaskDefinition[]> {
  const path = resolve(cwd, modulePath);
  let loaded: unknown;
  try {
    // An .mjs file is ESM for sure; anything else may be either.
    loaded = path.endsWith('.mjs') ? await importEsm(pathToFileURL(path).href) : require(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw new Error(`cannot load --tasks module '${path}': ${(error as Error).message}`);
    loaded = await importEsm(pathToFileURL(path).href);
  }
  const exported = loaded as { default?: unknown; tasks?: unknown } | undefined;
  for (const candidate of [exported?.tasks, exported?.default, loaded]) {
    const list = Array.isArray(candidate) ? candidate : isDefinition(candidate) ? [candidate] : undefined;
    if (list && list.length > 0) {
      const bad = list.findIndex((d) => !isDefinition(d));
      if (bad >= 0) throw new Error(`--tasks module '${path}': entry ${bad} is not a task; build each with defineTask(name, params, handler)`);
      // Re-check each through defineTask: a hand-written object gets the same validation.
      return (list as TaskDefinition[]).map((d) => defineTask(d.name, d.params, d.run));
    }
  }
  throw new Error(`--tasks module '${path}' exports no tasks: export an array of defineTask(...) as default, as module.exports, or as 'tasks'`);
}

function isDefinition(value: unknown): value is TaskDefinition {
  const d = value as TaskDefinition | undefined;
  return typeof d === 'object' && d !== null && typeof d.name === 'string' && Array.isArray(d.params) && typeof d.run === 'function';
}

// TypeScript compiles import() to require() for CommonJS output; this keeps a real import().
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
