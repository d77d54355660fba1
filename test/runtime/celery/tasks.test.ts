/** Task registration and Python's argument binding, with Python's TypeError messages. */
import { BUILTIN_TASKS } from '../../../runtime/celery/builtin-tasks';
import { TaskError } from '../../../runtime/celery/results';
import { defineTask, loadTasks, TaskRegistry } from '../../../runtime/celery/tasks';
import { FIXTURES } from './helpers';

const registry = new TaskRegistry([
  defineTask('m.add', ['a', 'b'], () => undefined),
  defineTask('m.opt', ['a', 'b?'], () => undefined),
  defineTask('m.three', ['a', 'b', 'c'], () => undefined),
  defineTask('m.rest', ['a', '*args', '**kwargs'], () => undefined),
  defineTask('m.none', [], () => undefined),
]);

function bindError(name: string, args: unknown[], kwargs: Record<string, unknown> = {}): unknown {
  try {
    registry.get(name)?.bind(args, kwargs);
  } catch (error) {
    expect(error).toBeInstanceOf(TaskError);
    return { type: (error as TaskError).excType, message: (error as TaskError).excArgs[0] };
  }
  return undefined;
}

test('positional args, then kwargs by name, in declaration order', () => {
  expect(registry.get('m.add')?.bind([1], { b: 2 })).toEqual([1, 2]);
  expect(registry.get('m.add')?.bind([], { b: 2, a: 1 })).toEqual([1, 2]);
  expect(registry.get('m.opt')?.bind([1], {})).toEqual([1, undefined]);
  expect(registry.get('m.rest')?.bind([1, 2, 3], { x: 4 })).toEqual([1, [2, 3], { x: 4 }]);
});

test.each([
  ['m.add', [1], {}, "add() missing 1 required positional argument: 'b'"],
  ['m.add', [], {}, "add() missing 2 required positional arguments: 'a' and 'b'"],
  ['m.three', [], {}, "three() missing 3 required positional arguments: 'a', 'b', and 'c'"],
  ['m.add', [1, 2, 3], {}, 'add() takes 2 positional arguments but 3 were given'],
  ['m.opt', [1, 2, 3], {}, 'opt() takes from 1 to 2 positional arguments but 3 were given'],
  ['m.none', [1], {}, 'none() takes 0 positional arguments but 1 was given'],
  ['m.add', [1, 2], { c: 3 }, "add() got an unexpected keyword argument 'c'"],
  ['m.add', [1], { a: 2 }, "add() got multiple values for argument 'a'"],
])('%s(%j, %j) raises TypeError: %s', (name, args, kwargs, message) => {
  expect(bindError(name, args, kwargs)).toEqual({ type: 'TypeError', message });
});

test('defineTask rejects parameter lists Python would not accept, naming the task', () => {
  expect(() => defineTask('x', ['a?', 'b'], () => 1)).toThrow("task 'x': required parameter 'b' follows an optional one");
  expect(() => defineTask('x', ['**kw', 'a'], () => 1)).toThrow("task 'x': '**kwargs' must be the last parameter");
  expect(() => defineTask('x', ['a-b'], () => 1)).toThrow(/parameter "a-b" must look like/);
  expect(() => defineTask('', [], () => 1)).toThrow('task name must be a non-empty string');
});

test('the built-in tasks are the demo task and the small test tasks', () => {
  expect(new TaskRegistry(BUILTIN_TASKS).names).toEqual(['tasks.add', 'tasks.echo', 'tasks.fail', 'tasks.noop', 'tasks.sleep', 'users.register']);
});

// ES modules load in the CLI (worker.test.ts); jest's module system cannot import() them in-process.
test('loadTasks reads a CommonJS module and says what a module should export', async () => {
  expect((await loadTasks('celery-tasks.js', FIXTURES)).map((t) => t.name)).toEqual(['test.record', 'test.slow', 'test.custom_error', 'tasks.add']);
  await expect(loadTasks('celery-tasks-bad.js', FIXTURES)).rejects.toThrow(/exports no tasks/);
  await expect(loadTasks('no-such-module.js', FIXTURES)).rejects.toThrow(/cannot load --tasks module/);
});
