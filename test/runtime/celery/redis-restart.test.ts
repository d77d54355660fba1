/** A worker outlives a Redis restart: it reconnects, keeps its task, and goes on claiming. */
import type Redis from 'ioredis';
import { CeleryKeys } from '../../../runtime/contract';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { waitFor } from '../../support/cli';
import { killWorkers, resultOf, send, startWorker, stopWorker } from './helpers';

let server: RedisServer;
let redis: Redis;

// AOF on: what was written before the restart is there after it.
withRedis((s, r) => ((server = s), (redis = r)), { appendonly: true });
afterEach(() => killWorkers());

test('a task running across a Redis restart still stores its result and is acknowledged; new tasks run after it', async () => {
  // GIVEN a worker running a 3 s task
  const worker = await startWorker(server.url, ['--queues', 'restart']);
  const long = await send(redis, { task: 'tasks.sleep', args: [3], queue: 'restart' });
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 1, 'the task claimed');

  // WHEN Redis shuts down and comes back on the same port while the task runs
  await server.shutdown();
  await new Promise((r) => setTimeout(r, 500));
  await server.start();

  // THEN the worker stores the result and acknowledges it, and takes new work
  expect(await resultOf(redis, long.id, 20_000)).toMatchObject({ status: 'SUCCESS', result: 3 });
  const next = await send(redis, { task: 'tasks.add', args: [1, 2], queue: 'restart' });
  expect(await resultOf(redis, next.id, 20_000)).toMatchObject({ status: 'SUCCESS', result: 3 });
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
  expect(worker.logs.some((l) => l.msg === 'redis reconnected')).toBe(true);
  expect((await stopWorker(worker)).code).toBe(0);
});
