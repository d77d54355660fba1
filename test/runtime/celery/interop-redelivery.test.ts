/**
 * acks_late across processes: a worker killed with SIGKILL in the middle of a task leaves the
 * message in kombu's `unacked` hash; another worker restores it after the visibility timeout and
 * runs it to the end, once, and Python's `get()` sees the result. Ours restores ours and Python's;
 * Python's restores ours (our bookkeeping is kombu's, field for field).
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { CeleryKeys, DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';
import { gocelerMessage } from '../../support/celery/gocelery';
import { RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { COMPLETED_KEY, executions, PythonCeleryOptions, pythonGet, pythonSend, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

/** Short, so the test waits seconds; the same on both sides, as a real deployment must set it. */
const VISIBILITY_TIMEOUT = 3;
/** Long enough that the kill surely lands mid-task, even on a loaded machine. */
const TASK_SECONDS = 3;

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url, visibilityTimeout: VISIBILITY_TIMEOUT })));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});
beforeEach(() => redis.del('executed', 'completed'));

/** The message of a killed worker waits in kombu's unacked bookkeeping: not in the queue, not lost, not run to its end. */
async function expectHeldUnacked(): Promise<void> {
  expect(await redis.llen(DEFAULT_CELERY_QUEUE)).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(1);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(1);
  expect(await executions(redis, COMPLETED_KEY)).toEqual([]);
}

/** Nothing is left to deliver again (the ack may follow the stored result by a moment). */
async function expectNothingLeft(): Promise<void> {
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the ack', 5000).catch(() => undefined);
  expect(await redis.llen(DEFAULT_CELERY_QUEUE)).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
}

/** Which workers started the task, in order, and which completed it. */
async function runsOf(id: string): Promise<{ started: string[]; completed: string[] }> {
  return {
    started: (await executions(redis)).filter((e) => e.id === id).map((e) => e.worker),
    completed: (await executions(redis, COMPLETED_KEY)).filter((e) => e.id === id).map((e) => e.worker),
  };
}

test('kill -9 our worker mid-task: another of ours restores it after the visibility timeout, it completes once', async () => {
  // GIVEN our worker A running a 3 s task sent by Python
  const a = await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-a' });
  const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [TASK_SECONDS] });
  await waitFor(async () => (await executions(redis)).some((e) => e.id === sent.id), 'worker A to start the task');

  // WHEN A is killed with SIGKILL before the task ends
  a.child.kill('SIGKILL');
  const killed = await a.done;
  expect(killed.signal).toBe('SIGKILL');

  // THEN the message waits in kombu's unacked bookkeeping
  await expectHeldUnacked();

  // WHEN worker B starts with the same visibility timeout
  await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-b' });

  // THEN Python's get() returns the value
  const [outcome] = await pythonGet(celery, [sent.id], 30);
  expect(outcome).toEqual({ id: sent.id, status: 'SUCCESS', result: TASK_SECONDS });
  // AND the task started twice (A, killed; B) and completed once, on B
  expect(await runsOf(sent.id)).toEqual({ started: ['ours-a', 'ours-b'], completed: ['ours-b'] });
  await expectNothingLeft();
  await stopOurWorkers();
});

test('kill -9 a Python acks_late worker mid-task: our worker restores it and runs it once', async () => {
  // GIVEN a Python prefork worker (acks_late) running a 3 s task
  const python = await startPythonWorker({ ...celery, concurrency: 1, acksLate: true, tag: 'python-killed' });
  const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [TASK_SECONDS] });
  await waitFor(async () => (await runsOf(sent.id)).started.length > 0, 'the Python worker to start the task');

  // WHEN the worker and its pool are killed with SIGKILL
  await python.kill();
  await expectHeldUnacked();
  // AND one of ours starts with the same visibility timeout
  await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-restorer' });

  // THEN the task completes once, on ours
  const [outcome] = await pythonGet(celery, [sent.id], 30);
  expect(outcome).toEqual({ id: sent.id, status: 'SUCCESS', result: TASK_SECONDS });
  expect(await runsOf(sent.id)).toEqual({ started: ['python-killed', 'ours-restorer'], completed: ['ours-restorer'] });
  await expectNothingLeft();
  await stopOurWorkers();
});

test("kill -9 our worker mid-task: a Python worker restores it from kombu's unacked and runs it once", async () => {
  // GIVEN our worker running a 3 s task
  const ours = await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-killed' });
  const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [TASK_SECONDS] });
  await waitFor(async () => (await runsOf(sent.id)).started.length > 0, 'our worker to start the task');

  // WHEN it is killed with SIGKILL
  ours.child.kill('SIGKILL');
  await ours.done;
  await expectHeldUnacked();
  // AND, once the message is past the visibility timeout, a Python worker starts with the same
  // setting (kombu restores when its consumer starts, then only every tenth 10 s tick: ~100 s)
  const [tag] = await redis.zrange(CeleryKeys.UNACKED_INDEX, '0', '0');
  const takenAt = await redis.zscore(CeleryKeys.UNACKED_INDEX, tag);
  await waitFor(() => Date.now() / 1000 > Number(takenAt) + VISIBILITY_TIMEOUT + 0.5, 'the visibility timeout', 10_000);
  await startPythonWorker({ ...celery, concurrency: 1, acksLate: true, tag: 'python-restorer' });

  // THEN the task completes once, on Python
  const [outcome] = await pythonGet(celery, [sent.id], 20);
  expect(outcome).toEqual({ id: sent.id, status: 'SUCCESS', result: TASK_SECONDS });
  expect(await runsOf(sent.id)).toEqual({ started: ['ours-killed', 'python-restorer'], completed: ['python-restorer'] });
  await expectNothingLeft();
  await stopPythonWorkers();
});

test("a gocelery (protocol 1) message of our killed worker goes back through its 'celery' exchange binding; a Python worker runs it", async () => {
  // GIVEN a Python worker has declared its queue (and so the binding of the 'celery' exchange), and stopped
  const python = await startPythonWorker({ ...celery, concurrency: 1, acksLate: true, tag: 'python-declarer' });
  await python.stop();
  // AND our worker runs a protocol 1 task as gocelery sends it
  const ours = await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-killed' });
  const id = randomUUID();
  await redis.lpush(DEFAULT_CELERY_QUEUE, gocelerMessage({ id, task: 'tasks.sleep', args: [TASK_SECONDS], kwargs: {} }));
  await waitFor(async () => (await runsOf(id)).started.length > 0, 'our worker to start the task');

  // WHEN it is killed, and a Python worker starts once the message is past the visibility timeout
  ours.child.kill('SIGKILL');
  await ours.done;
  await expectHeldUnacked();
  const [tag] = await redis.zrange(CeleryKeys.UNACKED_INDEX, '0', '0');
  const takenAt = await redis.zscore(CeleryKeys.UNACKED_INDEX, tag);
  await waitFor(() => Date.now() / 1000 > Number(takenAt) + VISIBILITY_TIMEOUT + 0.5, 'the visibility timeout', 10_000);
  await startPythonWorker({ ...celery, concurrency: 1, acksLate: true, tag: 'python-restorer' });

  // THEN Python restored it to the queue and ran it once
  expect(await pythonGet(celery, [id], 20)).toEqual([{ id, status: 'SUCCESS', result: TASK_SECONDS }]);
  expect(await runsOf(id)).toEqual({ started: ['ours-killed', 'python-restorer'], completed: ['python-restorer'] });
  await expectNothingLeft();
  await stopPythonWorkers();
});
