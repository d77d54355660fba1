/**
 * The bound on eta tasks one worker holds (programmatic API, in-process): past it the worker
 * stops claiming until one is due, and at stop it hands every held eta task back.
 */
import type Redis from 'ioredis';
import { CeleryKeys } from '../../../runtime/contract';
import { BUILTIN_TASKS } from '../../../runtime/celery/builtin-tasks';
import { TaskRegistry } from '../../../runtime/celery/tasks';
import { runCeleryConsumer } from '../../../runtime/celery/consumer';
import { silentLogger } from '../../../runtime/log';
import { withRedis } from '../../support/redis-fixture';
import { waitFor } from '../../support/cli';
import { send } from './helpers';

let redis: Redis;

withRedis((_s, r) => (redis = r));

test('with maxEtaHeld 2, the third eta task and what follows stay on the list until stop hands the two back', async () => {
  const later = Date.now() + 600_000;
  const etas = [];
  for (let i = 0; i < 3; i++) etas.push(await send(redis, { task: 'tasks.noop', queue: 'etaq', eta: later }));
  const plain = await send(redis, { task: 'tasks.noop', queue: 'etaq' });

  const controller = new AbortController();
  const worker = runCeleryConsumer({
    redis,
    queues: ['etaq'],
    tasks: new TaskRegistry(BUILTIN_TASKS),
    concurrency: 1,
    hostname: 'test@here',
    visibilitySeconds: 3600,
    resultExpires: 60,
    unknownTask: 'fail',
    graceMs: 0,
    maxEtaHeld: 2,
    signal: controller.signal,
    log: silentLogger,
  });
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 2, 'two eta tasks held');
  // A few claim cycles' worth of time: nothing more is taken while the bound is reached.
  await new Promise((r) => setTimeout(r, 300));
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(2);
  expect(await redis.llen('etaq')).toBe(2);
  expect(await redis.exists(CeleryKeys.taskMeta(plain.id))).toBe(0);

  controller.abort();
  await worker;
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  const ids = (await redis.lrange('etaq', 0, -1)).map((raw) => (JSON.parse(raw) as { headers: { id: string } }).headers.id);
  expect(ids.sort()).toEqual([...etas.map((m) => m.id), plain.id].sort());
});
