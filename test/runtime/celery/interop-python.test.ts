/**
 * The baseline the interop tests stand on: the real Python Celery, alone (Python `.delay()` ->
 * Python prefork worker -> `AsyncResult.get()`), behaves as the other suites expect it to.
 */
import type Redis from 'ioredis';
import { executionCounts, executions, pythonCall, PythonCeleryOptions, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url })));

beforeAll(async () => {
  await startPythonWorker({ redisUrl: server.url, concurrency: 2 });
});
afterAll(() => stopPythonWorkers());

test('Python .delay() -> Python worker -> get() returns the value, and the run is recorded once', async () => {
  const { sent, outcomes } = await pythonCall(celery, 'tasks.add', { args: [2, 3] });
  expect(outcomes).toEqual([{ id: sent[0].id, status: 'SUCCESS', result: 5 }]);
  expect(executionCounts(await executions(redis)).get(sent[0].id)).toBe(1);
});

test('a Python failure, a bad call and an unknown name come back as the exceptions the interop tests expect', async () => {
  const failed = await pythonCall(celery, 'tasks.fail', { args: ['bad'] });
  expect(failed.outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'ValueError', exc_module: 'builtins', exc_message: 'bad' });
  const badArgs = await pythonCall(celery, 'tasks.add', { args: [1], via: 'send_task' });
  expect(badArgs.outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins' });
  const unknown = await pythonCall(celery, 'no.such.task', { via: 'send_task', timeout: 10 });
  expect(unknown.outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'NotRegistered', exc_module: 'celery.exceptions' });
});

test('users.register stores the users:<n> hash and returns its name; a countdown holds the task until its eta', async () => {
  const { sent, outcomes } = await pythonCall(celery, 'users.register', { args: ['Ada', 'ada@example.org', '1 Main St'], countdown: 2 });
  expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: expect.stringMatching(/^users:\d+$/) });
  expect(await redis.hgetall(outcomes[0].result as string)).toMatchObject({
    name: 'Ada',
    email: 'ada@example.org',
    address: '1 Main St',
    worker: expect.stringMatching(/^python-/),
  });
  const run = (await executions(redis)).find((e) => e.id === sent[0].id);
  expect(run?.at).toBeGreaterThanOrEqual(Date.parse(sent[0].eta as string) / 1000);
});
