/**
 * The tasks every worker knows: the demo's registration task, and small ones for tests and
 * benchmarks (`tasks.add`, `tasks.noop`, `tasks.sleep`, `tasks.fail`, `tasks.echo`).
 */
import { CeleryDemoKeys, DEMO_CELERY_TASK } from '../contract';
import { sleep } from '../sleep';
import { TaskError } from './results';
import { defineTask, TaskContext, TaskDefinition } from './tasks';

/** The demo: stores a registration in `users:<n>` with the worker and the time, returns the hash name. */
export const registerUser = defineTask(DEMO_CELERY_TASK, ['name', 'email', 'address'], async (name: unknown, email: unknown, address: unknown, ctx: TaskContext) => {
  const n = await ctx.redis.incr(CeleryDemoKeys.COUNTER);
  const key = CeleryDemoKeys.user(n);
  await ctx.redis.hset(key, {
    name: String(name),
    email: String(email),
    address: String(address),
    worker: ctx.hostname,
    processed: new Date().toISOString(),
    task_id: ctx.id,
  });
  return key;
});

export const BUILTIN_TASKS: readonly TaskDefinition[] = [
  registerUser,
  defineTask('tasks.add', ['a', 'b'], (a: unknown, b: unknown) => {
    if (typeof a === 'number' && typeof b === 'number') return a + b;
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    throw new TypeError(`unsupported operand type(s) for +: '${pyType(a)}' and '${pyType(b)}'`);
  }),
  defineTask('tasks.noop', [], () => null),
  defineTask('tasks.sleep', ['seconds'], async (seconds: unknown, ctx: TaskContext) => {
    if (typeof seconds !== 'number' || !(seconds >= 0)) throw new TaskError('ValueError', [`seconds must be a non-negative number, got ${JSON.stringify(seconds)}`]);
    await sleep(seconds * 1000, ctx.signal);
    // Woken early by the soft time limit (or the end of the grace period): fail as Celery's task would.
    ctx.signal.throwIfAborted();
    return seconds;
  }),
  defineTask('tasks.fail', ['message?'], (message: unknown) => {
    throw new TaskError('ValueError', [message ?? 'tasks.fail']);
  }),
  defineTask('tasks.echo', ['*args', '**kwargs'], (args: unknown[], kwargs: Record<string, unknown>) => ({ args, kwargs })),
];

function pyType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'string':
      return 'str';
    case 'boolean':
      return 'bool';
    default:
      return 'dict';
  }
}
