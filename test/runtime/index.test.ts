/** The programmatic entry (`cdk8s-redis-keda/lib/runtime`), used in-process. */
import Redis from 'ioredis';
import { consumeOnce, createConsumerMetrics, createRegistry, Metrics, publishEvents, QueueEvent, runConsumer } from '../../runtime';
import { queueState } from '../support/queue-state';
import { RedisServer, startRedis } from '../support/redis-server';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { protocol: 2 });
});

afterAll(async () => {
  await redis.quit();
  await server.stop();
});

test('consumeOnce hands each event to the handler and reports the outcome', async () => {
  const list = 'api-once';
  await publishEvents({ redis, list, count: 2, intervalSeconds: 0, waitMin: 0, waitMax: 0 });
  const seen: QueueEvent[] = [];
  const handler = async (event: QueueEvent) => void seen.push(event);

  expect(await consumeOnce({ redis, list, handler })).toMatchObject({ outcome: 'processed', token: expect.any(String) });
  expect(await consumeOnce({ redis, list, handler })).toMatchObject({ outcome: 'processed' });
  expect(await consumeOnce({ redis, list, handler })).toEqual({ outcome: 'empty' });
  expect(seen.map((e) => e.wait)).toEqual([0, 0]);
  expect(await queueState(redis, list)).toEqual({ ready: [], inflight: [], inflightEvents: {}, dead: [] });
});

test('runConsumer works until its signal aborts, counting into the metrics given', async () => {
  const list = 'api-loop';
  await redis.lpush(list, '{"id": "a", "wait": 0}', '{"id": "b", "wait": 0, "fail": true}', 'garbage');
  const registry = createRegistry();
  const controller = new AbortController();
  const done: string[] = [];
  const running = runConsumer({
    redis,
    list,
    concurrency: 2,
    metrics: createConsumerMetrics(registry),
    signal: controller.signal,
    handler: async (event) => {
      if (event.fail) throw new Error('no');
      done.push(event.id);
    },
  });
  const deadline = Date.now() + 5000;
  while ((await redis.llen(`${list}:dead`)) < 2 || done.length < 1) {
    if (Date.now() > deadline) throw new Error('consumer did not finish the events');
    await new Promise((r) => setTimeout(r, 20));
  }
  controller.abort();
  await running;

  expect(done).toEqual(['a']);
  const metrics = await registry.metrics();
  expect(metrics).toContain(`${Metrics.PROCESSED} 1`);
  expect(metrics).toContain(`${Metrics.DEAD_LETTERED}{reason="malformed"} 1`);
  expect(metrics).toContain(`${Metrics.DEAD_LETTERED}{reason="handler-failed"} 1`);
  expect((await queueState(redis, list)).dead.map((d) => d.reason).sort()).toEqual(['handler-failed', 'malformed']);
});
