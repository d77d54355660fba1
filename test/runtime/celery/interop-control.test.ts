/**
 * Celery's remote control as Python code uses it: `AsyncResult(id).revoke()` broadcasts on the
 * pidbox channel (`/<db>.celery.pidbox`) to every running worker, which then never runs the task
 * (or, with terminate, stops it) and stores REVOKED; `app.control.ping()` collects the workers'
 * replies. Run once by a Python worker (which proves the expectations) and once by ours.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { COMPLETED_KEY, executions, PythonCeleryOptions, pythonGet, pythonSend, runPythonClient, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url })));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

describe.each([
  ['a Python worker', () => startPythonWorker({ ...celery, concurrency: 2, tag: 'python' }).then((w) => w.hostname)],
  ['our worker', () => startOurWorker({ redisUrl: server.url, concurrency: 2, tasks: RECORDING_TASKS, tag: 'ours' }).then(() => 'ours@localhost')],
])('remote control on %s', (_who, start) => {
  let hostname: string;
  beforeAll(async () => {
    hostname = await start();
  });
  afterAll(async () => {
    await stopOurWorkers();
    await stopPythonWorkers();
  });

  test('a task revoked before its eta never runs; get() raises TaskRevokedError', async () => {
    // GIVEN a task due in 3 s, taken by the worker
    const [sent] = await pythonSend(celery, 'tasks.add', { args: [1, 2], countdown: 3, via: 'apply_async' });
    await waitFor(async () => (await redis.llen('celery')) === 0, 'the worker to take the task');

    // WHEN Python revokes it
    const revoked = await runPythonClient(celery, ['revoke', sent.id]);
    expect(revoked.code).toBe(0);

    // THEN it is REVOKED, and did not run
    const [outcome] = await pythonGet(celery, [sent.id], 10);
    expect(outcome).toMatchObject({ id: sent.id, status: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions' });
    expect((await executions(redis)).filter((e) => e.id === sent.id)).toEqual([]);
  });

  test('a task revoked before it was even sent never runs', async () => {
    const id = randomUUID();
    expect((await runPythonClient(celery, ['revoke', id])).code).toBe(0);
    await pythonSend(celery, 'tasks.add', { args: [1, 2], taskId: id, via: 'apply_async' });
    const [outcome] = await pythonGet(celery, [id], 10);
    expect(outcome).toMatchObject({ id, status: 'REVOKED', exc_type: 'TaskRevokedError' });
    expect((await executions(redis)).filter((e) => e.id === id)).toEqual([]);
  });

  test('revoke(terminate=True) stops a running task: REVOKED, never completed', async () => {
    const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [5] });
    await waitFor(async () => (await executions(redis)).some((e) => e.id === sent.id), 'the task to start');
    expect((await runPythonClient(celery, ['revoke', '--terminate', sent.id])).code).toBe(0);
    const [outcome] = await pythonGet(celery, [sent.id], 10);
    expect(outcome).toMatchObject({ id: sent.id, status: 'REVOKED', exc_type: 'TaskRevokedError' });
    expect((await executions(redis, COMPLETED_KEY)).filter((e) => e.id === sent.id)).toEqual([]);
  });

  test('app.control.ping() gets a pong from the worker', async () => {
    const run = await runPythonClient(celery, ['ping', '--timeout', '1']);
    expect(run.code).toBe(0);
    const [{ replies }] = run.lines as [{ replies: Record<string, unknown>[] }];
    expect(replies).toContainEqual({ [hostname]: { ok: 'pong' } });
  });
});
