/**
 * How our worker takes messages Python sent and gives back what it cannot finish: kombu priority
 * lists, `expires`, and SIGTERM, after which a Python worker picks up what ours handed back.
 */
import type Redis from 'ioredis';
import { CeleryKeys, CELERY_PRIORITY_STEPS, celeryPriorityList, DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';
import { RECORDING_TASKS, startOurWorker, stopOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { COMPLETED_KEY, executions, pythonCall, PythonCeleryOptions, pythonGet, pythonSend, SentTask, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url })));
beforeEach(() => redis.del('executed', 'completed'));
afterEach(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

/** Messages waiting in the queue at any priority. */
async function queued(): Promise<number> {
  let total = 0;
  for (const step of CELERY_PRIORITY_STEPS) total += await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, step));
  return total;
}

async function runsOf(id: string): Promise<{ started: string[]; completed: string[] }> {
  return {
    started: (await executions(redis)).filter((e) => e.id === id).map((e) => e.worker),
    completed: (await executions(redis, COMPLETED_KEY)).filter((e) => e.id === id).map((e) => e.worker),
  };
}

test('Python priorities land in kombu priority lists; our worker serves priority 0 first and runs them all', async () => {
  // GIVEN three tasks at each of the priorities 9, 6, 3, 0, sent by Python while no worker runs
  const byPriority = new Map<string, number>();
  for (const priority of [9, 6, 3, 0]) {
    for (const sent of await pythonSend(celery, 'tasks.add', { args: [priority, 0], priority, count: 3 })) byPriority.set(sent.id, priority);
  }
  for (const step of CELERY_PRIORITY_STEPS) expect(await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, step))).toBe(3);

  // WHEN one of ours, one task at a time, drains them
  await startOurWorker({ redisUrl: server.url, concurrency: 1, tasks: RECORDING_TASKS, tag: 'ours' });
  const outcomes = await pythonGet(celery, [...byPriority.keys()], 20);

  // THEN every one ran, in priority order 0, 3, 6, 9
  expect(outcomes.map((o) => [o.status, o.result])).toEqual([...byPriority.values()].map((p) => ['SUCCESS', p]));
  expect((await executions(redis)).map((e) => byPriority.get(e.id))).toEqual([0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9]);
  expect(await queued()).toBe(0);
});

test("a queue of its own (apply_async(queue='emails')) reaches ours with --queues emails,celery; ignore_result stores nothing", async () => {
  // GIVEN our worker on two queues
  await startOurWorker({ redisUrl: server.url, concurrency: 2, tasks: RECORDING_TASKS, tag: 'ours', queues: ['emails', DEFAULT_CELERY_QUEUE] });

  // WHEN Python sends to each, and one with ignore_result
  const { sent: toEmails, outcomes } = await pythonCall(celery, 'tasks.add', { args: [3, 4], queue: 'emails', priority: 6 });
  const [quiet] = await pythonSend(celery, 'tasks.add', { args: [5, 6], ignoreResult: true });

  // THEN both ran; the ignore_result one left no result behind
  expect(outcomes).toEqual([{ id: toEmails[0].id, status: 'SUCCESS', result: 7 }]);
  await waitFor(async () => (await executions(redis)).some((e) => e.id === quiet.id), 'the ignore_result task to run');
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'its ack');
  expect(await redis.exists(CeleryKeys.taskMeta(quiet.id))).toBe(0);
  expect(await redis.exists(CeleryKeys.taskMeta(toEmails[0].id))).toBe(1);
});

test('an expired task is not run: Python get() raises TaskRevokedError; one still in time runs', async () => {
  // GIVEN a task expiring in 1 s and one in 60 s, sent while no worker runs
  const [expiring] = await pythonSend(celery, 'tasks.add', { args: [1, 1], expires: 1 });
  const [inTime] = await pythonSend(celery, 'tasks.add', { args: [2, 2], expires: 60 });
  expect(expiring.expires).not.toBeNull();
  await waitFor(() => Date.now() > Date.parse(expiring.expires as string) + 200, 'the first task to expire', 5000);

  // WHEN our worker starts
  await startOurWorker({ redisUrl: server.url, concurrency: 2, tasks: RECORDING_TASKS, tag: 'ours' });

  // THEN Python sees the first revoked (as a Python worker stores it) and the second done
  const [revoked, done] = await pythonGet(celery, [expiring.id, inTime.id], 10);
  expect(revoked).toMatchObject({ id: expiring.id, status: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions' });
  expect(done).toEqual({ id: inTime.id, status: 'SUCCESS', result: 4 });
  expect((await executions(redis)).map((e) => e.id)).toEqual([inTime.id]);
});

test('SIGTERM past the grace: our worker hands the running task straight back; a Python worker completes it', async () => {
  // GIVEN our worker (grace 1 s) running a 4 s task; the visibility timeout is an hour, so only a hand-back brings it back soon
  const ours = await startOurWorker({ redisUrl: server.url, concurrency: 1, grace: 1, tasks: RECORDING_TASKS, tag: 'ours' });
  const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [4] });
  await waitFor(async () => (await runsOf(sent.id)).started.length > 0, 'our worker to start the task');

  // WHEN it is told to stop
  const stopped = await stopOurWorker(ours);

  // THEN it exits 0 with the message back in the queue, none unacknowledged
  expect(stopped.code).toBe(0);
  expect(await queued()).toBe(1);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);

  // AND a Python worker takes the handed-back message and completes it once
  await startPythonWorker({ ...celery, concurrency: 1, acksLate: true, tag: 'python' });
  expect(await pythonGet(celery, [sent.id], 15)).toEqual([{ id: sent.id, status: 'SUCCESS', result: 4 }]);
  expect(await runsOf(sent.id)).toEqual({ started: ['ours', 'python'], completed: ['python'] });
});

test('SIGTERM while our worker holds a countdown task: handed back with its eta, which a Python worker honours', async () => {
  // GIVEN our worker holding a task due in 6 s (time enough to stop it first, even on a loaded machine)
  const ours = await startOurWorker({ redisUrl: server.url, concurrency: 1, grace: 1, tasks: RECORDING_TASKS, tag: 'ours' });
  const [sent]: SentTask[] = await pythonSend(celery, 'tasks.add', { args: [5, 5], countdown: 6, via: 'apply_async' });
  await waitFor(async () => (await queued()) === 0, 'our worker to take the eta task');

  // WHEN it stops before the eta
  expect((await stopOurWorker(ours)).code).toBe(0);
  expect(await queued()).toBe(1);
  expect(await executions(redis)).toEqual([]);

  // THEN a Python worker runs it, not before its eta
  await startPythonWorker({ ...celery, concurrency: 1, tag: 'python' });
  expect(await pythonGet(celery, [sent.id], 15)).toEqual([{ id: sent.id, status: 'SUCCESS', result: 10 }]);
  const runs = await executions(redis);
  expect(runs.map((e) => e.worker)).toEqual(['python']);
  expect(runs[0].at * 1000).toBeGreaterThanOrEqual(Date.parse(sent.eta as string));
});
