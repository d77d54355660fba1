/**
 * acks_late across processes: our worker killed with SIGKILL in the middle of a task leaves the
 * message in kombu's `unacked` hash; another of our workers restores it after the visibility
 * timeout and runs it to the end, once, and Python's `get()` sees the result.
 */
import type Redis from 'ioredis';
import { CeleryKeys, DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';
import { RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { COMPLETED_KEY, executions, PythonCeleryOptions, pythonGet, pythonSend } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

/** Short, so the test waits seconds; the same on both sides, as a real deployment must set it. */
const VISIBILITY_TIMEOUT = 3;

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url, visibilityTimeout: VISIBILITY_TIMEOUT })));
afterAll(() => stopOurWorkers());

test('kill -9 our worker mid-task: another of ours restores it after the visibility timeout, it completes once', async () => {
  // GIVEN our worker A running a 2 s task sent by Python
  const a = await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-a' });
  const [sent] = await pythonSend(celery, 'tasks.sleep', { args: [2] });
  await waitFor(async () => (await executions(redis)).some((e) => e.id === sent.id), 'worker A to start the task');

  // WHEN A is killed with SIGKILL before the task ends
  a.child.kill('SIGKILL');
  const killed = await a.done;
  expect(killed.signal).toBe('SIGKILL');

  // THEN the message waits in kombu's unacked bookkeeping, not in the queue and not lost
  expect(await redis.llen(DEFAULT_CELERY_QUEUE)).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(1);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(1);
  expect(await executions(redis, COMPLETED_KEY)).toEqual([]);

  // WHEN worker B starts with the same visibility timeout
  await startOurWorker({ redisUrl: server.url, concurrency: 1, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours-b' });

  // THEN Python's get() returns the value
  const [outcome] = await pythonGet(celery, [sent.id], 30);
  expect(outcome).toEqual({ id: sent.id, status: 'SUCCESS', result: 2 });
  // AND the task started twice (A, killed; B) and completed once, on B
  expect((await executions(redis)).filter((e) => e.id === sent.id).map((e) => e.worker)).toEqual(['ours-a', 'ours-b']);
  expect((await executions(redis, COMPLETED_KEY)).map((e) => [e.id, e.worker])).toEqual([[sent.id, 'ours-b']]);
  // AND nothing is left to deliver again (the ack may follow the stored result by a moment)
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the ack', 5000).catch(() => undefined);
  expect(await redis.llen(DEFAULT_CELERY_QUEUE)).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
});
