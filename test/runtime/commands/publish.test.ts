import type Redis from 'ioredis';
import { Metrics } from '../../../runtime/contract';
import { runCli, startCli, waitFor } from '../../support/cli';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

test('configured by env alone: PUBLISH_COUNT events in PUBLISH_BATCH-sized LPUSHes, wait in [WAIT_MIN, WAIT_MAX]', async () => {
  const list = 'publish-env';
  const result = await runCli(['publish'], {
    env: { REDIS_URL: server.url, LIST_NAME: list, PUBLISH_COUNT: '5', PUBLISH_BATCH: '2', PUBLISH_INTERVAL: '0', WAIT_MIN: '3', WAIT_MAX: '4' },
  });
  expect(result.code).toBe(0);
  expect(result.logs.filter((l) => l.msg === 'published batch').map((l) => l.events)).toEqual([2, 2, 1]);
  const events = (await redis.lrange(list, 0, -1)).map((raw) => JSON.parse(raw) as { id: string; wait: number; enqueuedAt: number });
  expect(events).toHaveLength(5);
  expect(new Set(events.map((e) => e.id)).size).toBe(5);
  for (const event of events) expect([3, 4]).toContain(event.wait);
});

test('--interval spaces the batches', async () => {
  const list = 'publish-interval';
  const started = Date.now();
  const result = await runCli(['publish', '--count', '3', '--batch', '1', '--interval', '0.3', '--list', list, '--redis', server.url]);
  expect(result.code).toBe(0);
  // Two 0.3 s pauses at least; more under load.
  expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  expect(await redis.llen(list)).toBe(3);
});

test('--forever serves /healthz and /metrics, and SIGTERM stops it cleanly (exit 0)', async () => {
  const list = 'publish-forever';
  const publisher = startCli(['publish', '--forever', '--batch', '2', '--interval', '0.1', '--metrics-port', '0'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  try {
    const { port } = await publisher.waitForLog((l) => l.msg === 'health server listening');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await waitFor(async () => (await redis.llen(list)) >= 6, 'three batches');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // The publisher goes on between the wait and the scrape: at least the three batches seen.
    expect(Number(new RegExp(`^${Metrics.PUBLISHED} (\\d+)$`, 'm').exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
  } finally {
    publisher.child.kill('SIGTERM');
  }
  const result = await publisher.done;
  expect(result.code).toBe(0);
  const stopped = result.logs.find((l) => l.msg === 'publisher stopped');
  expect(stopped?.published).toBe(await redis.llen(list));
});
