/**
 * Celery on a Redis database other than 0 (`redis://host:port/3`): the queue, results and the
 * pidbox channel (`/3.celery.pidbox`) all live there, for Python and for ours (REDIS_DB=3), and
 * nothing lands in database 0.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { Env } from '../../../runtime/contract';
import { startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { pythonCall, PythonCeleryOptions, pythonGet, pythonSend, runPythonClient, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const DB = 3;

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: `${s.url}/${DB}` })));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

test(`on database ${DB}: results reach Python, revoke reaches ours, database 0 stays empty`, async () => {
  // GIVEN our worker on database 3, from env as the chart renders it
  await startOurWorker({ redisUrl: server.url, connectionEnv: { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(server.port), [Env.REDIS_DB]: String(DB) } });

  // WHEN Python calls a task, and revokes one before sending it
  const { outcomes } = await pythonCall(celery, 'tasks.add', { args: [2, 3] });
  const revokedId = randomUUID();
  expect((await runPythonClient(celery, ['revoke', revokedId])).code).toBe(0);
  await pythonSend(celery, 'tasks.add', { args: [1, 1], taskId: revokedId, via: 'apply_async' });

  // THEN the first succeeded, the second was revoked by ours, and database 0 holds nothing
  expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: 5 });
  expect(await pythonGet(celery, [revokedId], 10)).toEqual([expect.objectContaining({ id: revokedId, status: 'REVOKED', exc_type: 'TaskRevokedError' })]);
  expect(await redis.dbsize()).toBe(0);
});
