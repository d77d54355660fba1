/** Result JSON as Celery's Redis backend writes it, and JS errors as the Python exceptions a caller gets. */
import { dateDone, failureJson, successJson, TaskError, toCeleryException, traceback } from '../../../runtime/celery/results';

test('date_done is Python’s utcnow().isoformat(): naive, microseconds unless there are none', () => {
  expect(dateDone(Date.UTC(2030, 0, 2, 3, 4, 5, 678) * 1000 + 9)).toBe('2030-01-02T03:04:05.678009');
  expect(dateDone(Date.UTC(2030, 0, 2, 3, 4, 5) * 1000)).toBe('2030-01-02T03:04:05');
  expect(dateDone()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
});

test('SUCCESS and FAILURE carry Celery’s fields in Celery’s order, with group and parent when the task had them', () => {
  const ok = JSON.parse(successJson({ taskId: 'id1', group: 'g1', parentId: 'p1' }, { a: [1] })) as Record<string, unknown>;
  expect(Object.keys(ok)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'group_id', 'parent_id', 'task_id']);
  expect(ok).toMatchObject({ status: 'SUCCESS', result: { a: [1] }, traceback: null, children: [], group_id: 'g1', parent_id: 'p1', task_id: 'id1' });
  expect(JSON.parse(successJson({ taskId: 'u' }, undefined))).toMatchObject({ status: 'SUCCESS', result: null });
  const failed = JSON.parse(failureJson({ taskId: 'id2' }, { exc_type: 'ValueError', exc_message: ['bad', 42], exc_module: 'builtins' }, 'tb')) as Record<string, unknown>;
  expect(failed).toEqual({
    status: 'FAILURE',
    result: { exc_type: 'ValueError', exc_message: ['bad', 42], exc_module: 'builtins' },
    traceback: 'tb',
    children: [],
    date_done: expect.any(String),
    task_id: 'id2',
  });
});

test('a result JSON cannot carry is an EncodeError failure, not a crash', () => {
  expect(JSON.parse(successJson({ taskId: 'b' }, { n: BigInt(1) }))).toMatchObject({ status: 'FAILURE', result: { exc_type: 'EncodeError', exc_module: 'kombu.exceptions' } });
});

test.each([
  [new TypeError('t'), 'TypeError'],
  [new RangeError('r'), 'ValueError'],
  [new Error('e'), 'Exception'],
  ['a string', 'Exception'],
])('%p is raised in Python as builtins.%s', (error, type) => {
  expect(toCeleryException(error)).toEqual({ exc_type: type, exc_message: [error instanceof Error ? error.message : error], exc_module: 'builtins' });
});

test('an error may name its own Python type, arguments and module', () => {
  expect(toCeleryException(new TaskError('KeyError', ['user']))).toEqual({ exc_type: 'KeyError', exc_message: ['user'], exc_module: 'builtins' });
  expect(toCeleryException(Object.assign(new Error('q'), { excType: 'QuotaExceeded', excModule: 'myapp.errors' }))).toEqual({
    exc_type: 'QuotaExceeded',
    exc_message: ['q'],
    exc_module: 'myapp.errors',
  });
});

test('the traceback looks like Python’s and ends with the exception line', () => {
  const error = new RangeError('too big');
  const text = traceback(error, toCeleryException(error));
  expect(text).toMatch(/^Traceback \(most recent call last\):\n/);
  expect(text).toMatch(/\nValueError: too big\n$/);
});
