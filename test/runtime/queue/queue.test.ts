import Redis from 'ioredis';
import { DeadLetter, queueKeys } from '../../../runtime/contract';
import { Queue } from '../../../runtime/queue/queue';
import { startRedis, RedisServer } from '../../support/redis-server';

let server: RedisServer;
let redis: Redis;
let n = 0;
/** Each test its own list. */
const newQueue = () => new Queue(redis, `queue-test-${++n}`);

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { protocol: 2 });
});

afterAll(async () => {
  await redis.quit();
  await server.stop();
});

test('publish keeps order: the first event published is the first claimed', async () => {
  const queue = newQueue();
  await queue.publish(['a', 'b']);
  await queue.publish(['c']);
  const claims = await queue.claim(60_000, 5);
  expect(claims.map((c) => c.raw)).toEqual(['a', 'b', 'c']);
  expect(new Set(claims.map((c) => c.token)).size).toBe(3);
});

test('claim records each event in flight under its token with a deadline from the Redis clock', async () => {
  // GIVEN
  const queue = newQueue();
  await queue.publish(['one', 'two', 'three']);
  const [seconds] = await redis.time();
  // WHEN
  const claims = await queue.claim(30_000, 2);
  // THEN
  expect(claims).toHaveLength(2);
  const keys = queueKeys(queue.list);
  expect(await redis.lrange(keys.ready, 0, -1)).toEqual(['three']);
  for (const claim of claims) {
    expect(await redis.hget(keys.inflightEvents, claim.token)).toBe(claim.raw);
    expect(Number(await redis.zscore(keys.inflight, claim.token))).toBe(claim.deadline);
  }
  expect(claims[0].deadline - Number(seconds) * 1000).toBeGreaterThanOrEqual(29_000);
  expect(claims[0].deadline - Number(seconds) * 1000).toBeLessThanOrEqual(32_000);
});

test('claim on an empty list takes nothing and records nothing', async () => {
  const queue = newQueue();
  expect(await queue.claim(1000, 3)).toEqual([]);
  expect(await queue.stats()).toEqual({ list: queue.list, ready: 0, inflight: 0, delayed: 0, dead: 0 });
});

test('ack removes a held claim and reports a claim that is gone', async () => {
  const queue = newQueue();
  await queue.publish(['x']);
  const [claim] = await queue.claim(60_000);
  expect(await queue.ack(claim.token)).toBe(true);
  expect(await queue.ack(claim.token)).toBe(false);
  expect(await redis.exists(queue.keys.inflight, queue.keys.inflightEvents)).toBe(0);
});

test('reap requeues only expired claims, at the consuming end, and keeps identical events apart', async () => {
  // GIVEN two identical expired events, one live one, and an older event waiting
  const queue = newQueue();
  await queue.publish(['same', 'same', 'live']);
  const expired = await queue.claim(1, 2);
  const [live] = await queue.claim(60_000, 1);
  await queue.publish(['waiting']);
  await new Promise((r) => setTimeout(r, 20));
  // WHEN
  const requeued = await queue.reap();
  // THEN the expired ones are taken next, the live one is still held
  expect(requeued).toBe(2);
  expect(await redis.lrange(queue.keys.ready, 0, -1)).toEqual(['waiting', 'same', 'same']);
  expect(await redis.zrange(queue.keys.inflight, '0', '-1')).toEqual([live.token]);
  expect(await redis.hkeys(queue.keys.inflightEvents)).toEqual([live.token]);
  expect(await queue.ack(expired[0].token)).toBe(false);
  expect(await queue.reap()).toBe(0);
});

test('reap works through more expired claims than one batch', async () => {
  const queue = newQueue();
  await queue.publish(Array.from({ length: 25 }, (_, i) => `e${i}`));
  await queue.claim(1, 25);
  await new Promise((r) => setTimeout(r, 20));
  expect(await queue.reap(10)).toBe(25);
  expect(await redis.llen(queue.keys.ready)).toBe(25);
  expect(await redis.zcard(queue.keys.inflight)).toBe(0);
});

test('extendLease moves a held deadline forward and never revives a lost claim', async () => {
  const queue = newQueue();
  await queue.publish(['x']);
  const [claim] = await queue.claim(1000);
  const extended = await queue.extendLease(claim.token, 60_000);
  expect(extended).toBeGreaterThan(claim.deadline + 50_000);
  expect(Number(await redis.zscore(queue.keys.inflight, claim.token))).toBe(extended);
  await queue.ack(claim.token);
  expect(await queue.extendLease(claim.token, 60_000)).toBeUndefined();
  expect(await redis.zcard(queue.keys.inflight)).toBe(0);
});

test('deadLetter wraps the original string and removes the claim; a lost claim writes nothing', async () => {
  // GIVEN
  const queue = newQueue();
  const raw = 'not json {"wait": ';
  await queue.publish([raw, 'second']);
  const [first, second] = await queue.claim(60_000, 2);
  // WHEN
  expect(await queue.deadLetter(first, { reason: 'malformed', error: 'not JSON' })).toBe(true);
  await queue.ack(second.token);
  expect(await queue.deadLetter(second, { reason: 'handler-failed', error: 'boom' })).toBe(false);
  // THEN
  const dead = (await redis.lrange(queue.keys.dead, 0, -1)).map((entry) => JSON.parse(entry) as DeadLetter);
  expect(dead).toEqual([{ event: raw, reason: 'malformed', error: 'not JSON', attempts: 1, failedAt: expect.any(Number) }]);
  expect(await queue.stats()).toEqual({ list: queue.list, ready: 0, inflight: 0, delayed: 0, dead: 1 });
});

test('scripts load again after SCRIPT FLUSH', async () => {
  const queue = newQueue();
  await queue.publish(['x']);
  await redis.script('FLUSH');
  expect(await queue.claim(1000)).toHaveLength(1);
});
