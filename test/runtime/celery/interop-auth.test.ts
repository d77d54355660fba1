/**
 * The demo's Redis wants a password. Our worker and producer get it the way the chart renders it
 * (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD from a Secret), Python Celery in its broker URL; both
 * sides still talk to each other, and neither works without it.
 */
import type Redis from 'ioredis';
import { Env } from '../../../runtime/contract';
import { ourSend, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { runCli } from '../../support/cli';
import { PythonCeleryOptions, pythonCall, pythonGet, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

/** Characters a URL must escape, as generated secrets have them. */
const PASSWORD = 'p@ss:w/rd #1';

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;
let connectionEnv: Record<string, string>;

withRedis((s, r) => {
  server = s;
  redis = r;
  celery = { redisUrl: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${s.port}/0` };
  connectionEnv = { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(s.port), [Env.REDIS_PASSWORD]: PASSWORD };
});
// The fixture's client stays authenticated: requirepass applies to new connections.
beforeAll(() => redis.config('SET', 'requirepass', PASSWORD));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

test('with the password from env, our worker serves Python and a Python worker serves our producer', async () => {
  await startOurWorker({ redisUrl: server.url, connectionEnv, concurrency: 2 });
  const { outcomes } = await pythonCall(celery, 'tasks.add', { args: [2, 3] });
  expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: 5 });
  await stopOurWorkers();

  await startPythonWorker({ ...celery, concurrency: 1 });
  const { ids } = await ourSend(server.url, 'tasks.add', { args: [4, 5], connectionEnv });
  expect(await pythonGet(celery, ids, 15)).toEqual([{ id: ids[0], status: 'SUCCESS', result: 9 }]);
});

test('without it, our producer fails naming the problem instead of sending', async () => {
  const result = await runCli(['celery-send', '--task', 'tasks.noop'], { env: { ...connectionEnv, [Env.REDIS_PASSWORD]: undefined, [Env.REDIS_CONNECT_TIMEOUT]: '2' } });
  expect(result.code).toBe(1);
  expect(result.logs.map((l) => l.msg).join('\n')).toMatch(/NOAUTH|auth/i);
});
