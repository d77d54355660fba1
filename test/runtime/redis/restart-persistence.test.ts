/**
 * What a Redis restart keeps, as RedisQueue configures Redis: without `persistence` (no AOF, no
 * snapshots) every ready and in-flight event is gone after any restart; with AOF all of them stay.
 */
import Redis from 'ioredis';
import { queueKeys } from '../../../runtime/contract';
import { Queue } from '../../../runtime/queue/queue';
import { runCli } from '../../support/cli';
import { RedisServer, startRedis } from '../../support/redis-server';

const servers: RedisServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** 2,000 events published, 500 of them leased; then the server restarts. Returns what is left. */
async function publishLeaseRestart(appendonly: boolean): Promise<{ ready: number; inflight: number; inflightEvents: number }> {
  const server = await startRedis({ appendonly });
  servers.push(server);
  const list = 'restart-events';
  const keys = queueKeys(list);
  const published = await runCli(['publish', '--count', '2000', '--batch', '100', '--interval', '0', '--list', list, '--redis', server.url]);
  expect(published.code).toBe(0);
  let redis = new Redis(server.url, { protocol: 2 });
  try {
    expect(await new Queue(redis, list).claim(600_000, 500)).toHaveLength(500);
    expect([await redis.llen(keys.ready), await redis.zcard(keys.inflight)]).toEqual([1500, 500]);
  } finally {
    redis.disconnect();
  }
  await server.shutdown();
  await server.start();
  redis = new Redis(server.url, { protocol: 2 });
  try {
    return { ready: await redis.llen(keys.ready), inflight: await redis.zcard(keys.inflight), inflightEvents: await redis.hlen(keys.inflightEvents) };
  } finally {
    redis.disconnect();
  }
}

test('without persistence a restart of Redis loses every ready and in-flight event', async () => {
  expect(await publishLeaseRestart(false)).toEqual({ ready: 0, inflight: 0, inflightEvents: 0 });
});

test('with AOF (appendfsync everysec) a restart keeps all of them', async () => {
  expect(await publishLeaseRestart(true)).toEqual({ ready: 1500, inflight: 500, inflightEvents: 500 });
});
