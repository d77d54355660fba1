/** The programmatic entry (`cdk8s-redis-keda/lib/runtime`), used in-process. */
import type Redis from 'ioredis';
import { consumeOnce, createConsumerMetrics, createRegistry, Metrics, publishEvents, QueueEvent, runConsumer } from '../../runtime';
import { EMPTY_QUEUE, queueState } from '../support/queue-state';
import { withRedis } from '../support/redis-fixture';

let redis: Redis;

withRedis((_server, r) => (redis = r));

test('consumeOnce hands each event to the handler and reports the outcome', async () => {
  const list = 'api-once';
  await publishEvents({ redis, list, count: 2, intervalSeconds: 0, waitMin: 0, waitMax: 0 });
  const seen: QueueEvent[] = [];
  const handler = async (event: QueueEvent) => void seen.push(event);

  expect(await consumeOnce({ redis, list, handler })).toMatchObject({ outcome: 'processed', token: expect.any(String) });
  expect(await consumeOnce({ redis, list, handler })).toMatchObject({ outcome: 'processed' });
  expect(await consumeOnce({ redis, list, handler })).toEqual({ outcome: 'empty' });
  expect(seen.map((e) => e.wait)).toEqual([0, 0]);
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
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
    maxAttempts: 1,
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

test('runConsumer in-process at concurrency 100 with a no-op handler: every event acknowledged, then abort resolves', async () => {
  const list = 'api-many';
  const events = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: `n${i}`, enqueuedAt: Date.now(), wait: 0 }));
  await redis.lpush(list, ...events);
  const registry = createRegistry();
  const controller = new AbortController();
  const running = runConsumer({ redis, list, concurrency: 100, handler: async () => undefined, signal: controller.signal, metrics: createConsumerMetrics(registry) });
  const deadline = Date.now() + 10_000;
  while ((await redis.llen(list)) + (await redis.zcard(`${list}:inflight`)) > 0) {
    if (Date.now() > deadline) throw new Error('consumer did not finish the events');
    await new Promise((r) => setTimeout(r, 20));
  }
  controller.abort();
  await running;
  const metrics = await registry.metrics();
  expect(metrics).toContain(`${Metrics.PROCESSED} 2000`);
  expect(metrics).toContain(`${Metrics.LATENCY_SECONDS}_count 2000`);
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
});

test('abort with graceSeconds 0 hands back the events whose handler still runs (polling instead of a blocking wait)', async () => {
  const list = 'api-handback';
  await redis.lpush(list, '{"id": "h1", "wait": 0}', '{"id": "h2", "wait": 0}');
  const controller = new AbortController();
  let started = 0;
  const running = runConsumer({
    redis,
    list,
    concurrency: 2,
    graceSeconds: 0,
    blockingWait: false,
    signal: controller.signal,
    handler: () => new Promise<void>(() => void started++),
  });
  const deadline = Date.now() + 5000;
  while (started < 2) {
    if (Date.now() > deadline) throw new Error('handlers did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
  controller.abort();
  await running;
  // Back at the consuming end in the order they were taken, no delivery counted.
  expect(await queueState(redis, list)).toEqual({ ...EMPTY_QUEUE, ready: ['{"id": "h2", "wait": 0}', '{"id": "h1", "wait": 0}'] });
});
