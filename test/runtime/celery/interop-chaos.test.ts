/**
 * A mixed fleet under failure and scale-in, while it drains a queue Python filled. One of our
 * workers killed with SIGKILL: every task still ends with a SUCCESS result; only the tasks the
 * killed worker held may have run twice (at-least-once: it may die after a task's work but before
 * its acknowledgement), and every other task ran exactly once. One of ours stopped with SIGTERM (as
 * KEDA's scale-in does): it finishes what it runs within its grace and hands back what it holds, so
 * every task runs exactly once.
 */
import type Redis from 'ioredis';
import { CeleryKeys, CELERY_PRIORITY_STEPS, celeryPriorityList, DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';
import { RECORDING_TASKS, startOurWorker, stopOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import {
  allCompleted,
  COMPLETED_KEY,
  executions,
  workersById,
  PythonCeleryOptions,
  pythonGet,
  pythonSend,
  startPythonWorker,
  stopPythonWorkers,
} from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const VISIBILITY_TIMEOUT = 3;
const TASKS = 200;
const CONCURRENCY = 4;

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
afterEach(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
  await redis.del('executed', 'completed');
});

test('kill -9 one of ours while a Python + ours fleet drains 200 tasks: all succeed, none lost, only its tasks ran twice', async () => {
  // GIVEN a Python prefork worker (acks_late) and two of ours, one visibility timeout for all
  const celery: PythonCeleryOptions = { redisUrl: server.url, visibilityTimeout: VISIBILITY_TIMEOUT };
  await startPythonWorker({ ...celery, concurrency: 2, acksLate: true, tag: 'python' });
  const victim = await startOurWorker({ redisUrl: server.url, concurrency: CONCURRENCY, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-victim' });
  await startOurWorker({ redisUrl: server.url, concurrency: CONCURRENCY, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-survivor' });

  // WHEN Python sends 200 short sleeps, and the victim is killed once it has finished some and is in the
  // middle of others (started, not completed: a CI run killed it between tasks, so nothing was redelivered)
  const sent = await pythonSend(celery, 'tasks.sleep', { args: [0.2], count: TASKS, via: 'apply_async' });
  const victimRuns = async (key?: string) => (await executions(redis, key)).filter((e) => e.worker === 'ours-victim').length;
  await waitFor(
    async () => {
      const completedByVictim = await victimRuns(COMPLETED_KEY);
      return completedByVictim >= 5 && (await victimRuns()) - completedByVictim >= 2;
    },
    'the victim to complete a few tasks while it runs others',
    20_000,
    5,
  );
  victim.child.kill('SIGKILL');
  await victim.done;
  await allCompleted(redis, sent, 'every task completed after the kill');
  const outcomes = await pythonGet(
    celery,
    sent.map((s) => s.id),
    20,
  );

  // THEN every task has a SUCCESS result
  expect(outcomes.filter((o) => o.status !== 'SUCCESS' || o.result !== 0.2)).toEqual([]);
  // AND every task completed; a task completed twice only if the victim completed it first (and died before the ack)
  const started = workersById(await executions(redis));
  const completed = workersById(await executions(redis, COMPLETED_KEY));
  expect(sent.filter((s) => !completed.has(s.id))).toEqual([]);
  const completedTwice = [...completed.entries()].filter(([, workers]) => workers.length > 1);
  for (const [id, workers] of completedTwice) expect({ id, workers: workers.slice(0, 1), times: workers.length }).toEqual({ id, workers: ['ours-victim'], times: 2 });
  // AND a task started more than once only if the victim started it, at most as many as it could hold
  const rerun = [...started.entries()].filter(([, workers]) => workers.length > 1);
  for (const [id, workers] of rerun) expect({ id, first: workers[0], times: workers.length }).toEqual({ id, first: 'ours-victim', times: 2 });
  expect(rerun.length).toBeLessThanOrEqual(CONCURRENCY);
  // AND the victim really held work when it died (otherwise this test proved nothing)
  expect(rerun.length).toBeGreaterThan(0);
  // AND nothing is left queued or unacknowledged
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the last ack', 5000).catch(() => undefined);
  for (const step of CELERY_PRIORITY_STEPS) expect(await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, step))).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
});

test('SIGTERM one of ours while a Python + ours fleet drains 200 tasks (scale-in): all succeed, each ran exactly once', async () => {
  // GIVEN the same fleet, our leaving worker with a grace longer than any task
  const celery: PythonCeleryOptions = { redisUrl: server.url, visibilityTimeout: VISIBILITY_TIMEOUT };
  await startPythonWorker({ ...celery, concurrency: 2, acksLate: true, tag: 'python' });
  const leaving = await startOurWorker({
    redisUrl: server.url,
    concurrency: CONCURRENCY,
    visibilityTimeout: VISIBILITY_TIMEOUT,
    tasks: RECORDING_TASKS,
    tag: 'ours-leaving',
    grace: 10,
  });
  await startOurWorker({ redisUrl: server.url, concurrency: CONCURRENCY, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-staying' });

  // WHEN Python sends 200 short sleeps, and the leaving worker is stopped once it has done some
  const sent = await pythonSend(celery, 'tasks.sleep', { args: [0.2], count: TASKS, via: 'apply_async' });
  await waitFor(async () => (await executions(redis, COMPLETED_KEY)).filter((e) => e.worker === 'ours-leaving').length >= 5, 'the leaving worker to complete a few tasks', 20_000);
  const stopped = await stopOurWorker(leaving);
  await allCompleted(redis, sent, 'every task completed after the stop');
  const outcomes = await pythonGet(
    celery,
    sent.map((s) => s.id),
    20,
  );

  // THEN it exited 0, every task has a SUCCESS result, and each started and completed exactly once
  expect(stopped.code).toBe(0);
  expect(outcomes.filter((o) => o.status !== 'SUCCESS' || o.result !== 0.2)).toEqual([]);
  const started = workersById(await executions(redis));
  const completed = workersById(await executions(redis, COMPLETED_KEY));
  expect(sent.filter((s) => started.get(s.id)?.length !== 1 || completed.get(s.id)?.length !== 1)).toEqual([]);
  // AND the leaving worker did take part, and left nothing unacknowledged behind
  expect([...completed.values()].flat()).toContain('ours-leaving');
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the last ack', 5000).catch(() => undefined);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
});
