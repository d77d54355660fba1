/** The loop (runConsumer) in-process on a real redis-server: the concurrency bound, the stop with grace and hand-back. */
import type Redis from 'ioredis';
import { createLogger } from '../../../runtime/log';
import { runConsumer } from '../../../runtime/queue/consumer';
import { EMPTY_QUEUE, queueState } from '../../support/queue-state';
import { withRedis } from '../../support/redis-fixture';

let redis: Redis;
withRedis((_server, r) => (redis = r));

function capture() {
  const logged: Record<string, unknown>[] = [];
  return { logged, log: createLogger({ level: 'info', format: 'json', write: (line) => logged.push(JSON.parse(line)) }) };
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1000 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await condition()).toBe(true);
}

test('never more events in hand than the concurrency; each freed slot takes the next; the stop tallies them', async () => {
  // GIVEN 20 events and a consumer of concurrency 5 whose handler waits for a gate
  const list = 'loop-bound';
  await redis.lpush(list, ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `e${i}`, wait: 0 })));
  const gates: (() => void)[] = [];
  const controller = new AbortController();
  const { logged, log } = capture();
  const running = runConsumer({ redis, list, concurrency: 5, log, signal: controller.signal, handler: () => new Promise<void>((resolve) => gates.push(resolve)) });
  // WHEN it has taken what it may
  await until(() => gates.length === 5);
  await new Promise((r) => setTimeout(r, 100));
  // THEN 5 are leased, 15 wait on the list
  let state = await queueState(redis, list);
  expect([gates.length, state.inflight.length, state.ready.length]).toEqual([5, 5, 15]);
  // WHEN two finish, THEN exactly two more are taken
  gates[0]();
  gates[1]();
  await until(() => gates.length === 7);
  await new Promise((r) => setTimeout(r, 100));
  state = await queueState(redis, list);
  expect([gates.length, state.inflight.length, state.ready.length]).toEqual([7, 5, 13]);
  // WHEN every handler is let through
  const release = setInterval(() => gates.forEach((g) => g()), 5);
  await until(async () => (await queueState(redis, list)).ready.length === 0 && (await queueState(redis, list)).inflight.length === 0);
  clearInterval(release);
  controller.abort();
  await running;
  // THEN all 20 were handled once and the stop line says so
  expect(gates.length).toBe(20);
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  expect(logged.find((l) => l.msg === 'consumer stopped')).toMatchObject({ processed: 20, failed: 0, retried: 0, deadLettered: 0, handedBack: 0, lost: 0, unconfirmed: 0 });
});

test('at stop a handler still running after the grace period has its event handed back, not counted as a delivery', async () => {
  const list = 'loop-handback';
  await redis.lpush(list, JSON.stringify({ id: 'slow', wait: 0 }));
  const controller = new AbortController();
  const { logged, log } = capture();
  let started = false;
  const running = runConsumer({ redis, list, log, graceSeconds: 0.2, signal: controller.signal, handler: () => ((started = true), new Promise<void>(() => undefined)) });
  await until(() => started);
  const stoppedAt = Date.now();
  controller.abort();
  await running;
  // The grace period was given, and not much more
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(195);
  expect(Date.now() - stoppedAt).toBeLessThan(3000);
  const state = await queueState(redis, list);
  expect(state.ready).toEqual([JSON.stringify({ id: 'slow', wait: 0 })]);
  expect(state.inflight).toEqual([]);
  expect(state.deliveries).toEqual({});
  expect(logged.find((l) => l.msg === 'consumer stopped')).toMatchObject({ processed: 0, handedBack: 1 });
});
