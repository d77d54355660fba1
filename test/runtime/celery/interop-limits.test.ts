/**
 * Celery's task time limits (`headers.timelimit` = [hard, soft], from apply_async(time_limit=,
 * soft_time_limit=) or the task's own settings), run once by a Python worker (which proves the
 * expectations) and once by ours: past the limit the task fails with billiard's exception instead
 * of running on.
 */
import { startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { runPythonClient, PythonCeleryOptions, startPythonWorker, stopPythonWorkers, TaskOutcome } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let celery: PythonCeleryOptions;

withRedis((s) => ((server = s), (celery = { redisUrl: s.url })));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

/** tasks.sleep(`seconds`) sent with a time limit option; what get() gave. */
async function sleepWithLimit(seconds: number, limit: '--time-limit' | '--soft-time-limit', value: number): Promise<TaskOutcome> {
  const run = await runPythonClient(celery, ['send', '--task', 'tasks.sleep', '--args', JSON.stringify([seconds]), limit, String(value), '--wait', '--timeout', '15']);
  if (run.code !== 0) throw new Error(`client.py exited ${run.code}:\n${run.stderr}`);
  return run.lines[1] as TaskOutcome;
}

describe.each([
  ['a Python worker', () => startPythonWorker({ ...celery, concurrency: 2, tag: 'python' }).then(() => undefined)],
  ['our worker', () => startOurWorker({ redisUrl: server.url, concurrency: 2 }).then(() => undefined)],
])('time limits on %s', (_who, start) => {
  beforeAll(start);
  afterAll(async () => {
    await stopOurWorkers();
    await stopPythonWorkers();
  });

  test('a task past its hard time_limit fails with billiard.exceptions.TimeLimitExceeded', async () => {
    expect(await sleepWithLimit(5, '--time-limit', 1)).toMatchObject({ status: 'FAILURE', exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions' });
  });

  test('a task past its soft_time_limit fails with billiard.exceptions.SoftTimeLimitExceeded (raised in the task)', async () => {
    expect(await sleepWithLimit(5, '--soft-time-limit', 1)).toMatchObject({ status: 'FAILURE', exc_type: 'SoftTimeLimitExceeded', exc_module: 'billiard.exceptions' });
  });

  test('a task within its limits succeeds', async () => {
    expect(await sleepWithLimit(0.2, '--time-limit', 5)).toMatchObject({ status: 'SUCCESS', result: 0.2 });
  });
});
