import type Redis from 'ioredis';
import { DeadLetter, queueKeys } from '../../../runtime/contract';
import { Queue } from '../../../runtime/queue/queue';
import { EMPTY_QUEUE, queueState } from '../../support/queue-state';
import { withRedis } from '../../support/redis-fixture';

let redis: Redis;
let n = 0;
/** Each test its own list. */
const newQueue = () => new Queue(redis, `queue-test-${++n}`);

withRedis((_server, r) => (redis = r));

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
  expect(await queue.deadLetter(second, { reason: 'malformed', error: 'boom' })).toBe(false);
  // THEN
  const dead = (await redis.lrange(queue.keys.dead, 0, -1)).map((entry) => JSON.parse(entry) as DeadLetter);
  expect(dead).toEqual([{ event: raw, reason: 'malformed', error: 'not JSON', attempts: 1, deliveries: 1, firstFailedAt: dead[0].failedAt, failedAt: expect.any(Number) }]);
  expect(await queue.stats()).toEqual({ list: queue.list, ready: 0, inflight: 0, delayed: 0, dead: 1 });
  expect(await redis.exists(queue.keys.deliveries, queue.keys.failures)).toBe(0);
});

describe('deliveries', () => {
  test('each claim counts; a crash (reaped lease) stays counted, an ack clears the count', async () => {
    const queue = newQueue();
    await queue.publish(['e']);
    const [first] = await queue.claim(1, 1);
    expect(first.delivery).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await queue.reap()).toBe(1);
    const [second] = await queue.claim(60_000, 1);
    expect(second.delivery).toBe(2);
    expect(await queue.ack(second.token)).toBe(true);
    expect(await redis.hgetall(queue.keys.deliveries)).toEqual({});
  });

  test('the claim after max-deliveries crashes dead-letters the event inside the claim, and hands out the next one', async () => {
    // GIVEN an event whose consumers died twice (max-deliveries 2), behind it a good one
    const queue = newQueue();
    await queue.publish(['poison', 'good']);
    for (let i = 0; i < 2; i++) {
      expect((await queue.claim(1, 1, 2)).map((c) => c.raw)).toEqual(['poison']);
      await new Promise((r) => setTimeout(r, 10));
      await queue.reap();
    }
    // WHEN
    const batch = await queue.claimBatch(60_000, 1, 2);
    // THEN the poison is dead-lettered and the good event handed out instead
    expect(batch.deadLettered).toBe(1);
    expect(batch.claims.map((c) => [c.raw, c.delivery])).toEqual([['good', 1]]);
    const [entry] = (await redis.lrange(queue.keys.dead, 0, -1)).map((e) => JSON.parse(e) as DeadLetter);
    expect(entry).toEqual({
      event: 'poison',
      reason: 'max-deliveries',
      error: expect.stringContaining('delivered 2 times (max-deliveries 2)'),
      attempts: 0,
      deliveries: 2,
      firstFailedAt: entry.failedAt,
      failedAt: expect.any(Number),
    });
    await queue.ack(batch.claims[0].token);
    expect(await redis.hgetall(queue.keys.deliveries)).toEqual({});
  });

  test('identical events held at the same time are not redeliveries of each other', async () => {
    const queue = newQueue();
    await queue.publish(Array(5).fill('{"wait": 0}'));
    const claims = await queue.claim(60_000, 5, 2);
    expect(claims.map((c) => c.delivery)).toEqual([1, 1, 1, 1, 1]);
    expect(await queue.ackMany(claims.map((c) => c.token))).toEqual([true, true, true, true, true]);
    expect(await redis.hgetall(queue.keys.deliveries)).toEqual({});
  });

  test('handing back at stop does not count the delivery, and puts events back at the consuming end in claim order', async () => {
    const queue = newQueue();
    await queue.publish(['a', 'b', 'c']);
    const claims = await queue.claim(60_000, 2);
    expect(await queue.handBack(claims.map((c) => c.token))).toBe(2);
    expect(await redis.lrange(queue.keys.ready, 0, -1)).toEqual(['c', 'b', 'a']);
    expect(await redis.hgetall(queue.keys.deliveries)).toEqual({});
    expect((await queue.claim(60_000, 3)).map((c) => [c.raw, c.delivery])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ]);
    expect(await queue.handBack(claims.map((c) => c.token))).toBe(0);
  });

  test('handing back many events in several calls keeps the claim order', async () => {
    const queue = newQueue();
    const events = ['e1', 'e2', 'e3', 'e4', 'e5'];
    await queue.publish(events);
    const claims = await queue.claim(60_000, 5);
    expect(
      await queue.handBack(
        claims.map((c) => c.token),
        2,
      ),
    ).toBe(5);
    expect((await queue.claim(60_000, 5)).map((c) => c.raw)).toEqual(events);
  });
});

describe('retries', () => {
  test('a failure waits in the delayed zset for min(backoff * 2^(n-1), max) less up to 10 %; the last attempt dead-letters', async () => {
    // GIVEN
    const queue = newQueue();
    await queue.publish(['flaky']);
    const policy = { maxAttempts: 4, backoffSeconds: 10, backoffMaxSeconds: 25 };
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      // WHEN it fails
      const [claim] = await queue.claim(60_000);
      const [seconds] = await redis.time();
      const result = await queue.retry(claim, `boom ${attempt}`, policy);
      // THEN it is delayed, not ready
      if (result.outcome !== 'retried') throw new Error(`expected a retry, got ${result.outcome}`);
      expect(result.attempts).toBe(attempt);
      delays.push(result.dueAt - Number(seconds) * 1000);
      expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0, delayed: 1 });
      expect(await queue.promoteDue()).toBe(0);
      // (make it due now)
      await redis.zadd(queue.keys.delayed, 0, claim.token);
    }
    expect(delays[0]).toBeGreaterThanOrEqual(8_900);
    expect(delays[0]).toBeLessThanOrEqual(11_000);
    expect(delays[1]).toBeGreaterThanOrEqual(17_900);
    expect(delays[1]).toBeLessThanOrEqual(21_000);
    expect(delays[2]).toBeGreaterThanOrEqual(22_400);
    expect(delays[2]).toBeLessThanOrEqual(26_000);
    // AND the fourth failure dead-letters it with the last error and all attempts
    const [last] = await queue.claim(60_000);
    expect(await queue.retry(last, 'boom 4', policy)).toEqual({ outcome: 'dead-lettered', attempts: 4 });
    const state = await queueState(redis, queue.list);
    expect(state).toEqual({ ...EMPTY_QUEUE, dead: [expect.objectContaining({ event: 'flaky', reason: 'handler-failed', error: 'boom 4', attempts: 4, deliveries: 4 })] });
    expect(state.dead[0].firstFailedAt).toBeLessThan(state.dead[0].failedAt);
  });

  test('due retries are promoted by the next claim, to the consuming end: they are taken before older waiting events', async () => {
    const queue = newQueue();
    await queue.publish(['retry-me', 'waiting']);
    const [claim] = await queue.claim(60_000);
    await queue.retry(claim, 'boom', { backoffSeconds: 0 });
    const [next] = await queue.claim(60_000);
    expect(next.raw).toBe('retry-me');
    expect(await queue.ack(next.token)).toBe(true);
    expect(await queueState(redis, queue.list)).toEqual({ ...EMPTY_QUEUE, ready: ['waiting'] });
  });

  test('an empty claim tells when the next retry is due, by the Redis clock', async () => {
    const queue = newQueue();
    await queue.publish(['later']);
    const [claim] = await queue.claim(60_000);
    const retry = await queue.retry(claim, 'boom', { backoffSeconds: 5 });
    const batch = await queue.claimBatch(60_000, 1);
    expect(batch.claims).toEqual([]);
    expect(retry.outcome === 'retried' && batch.nextDueAt === retry.dueAt).toBe(true);
    expect((batch.nextDueAt as number) - batch.redisTime).toBeGreaterThan(4000);
  });

  test('a retry of a claim already lost writes nothing', async () => {
    const queue = newQueue();
    await queue.publish(['x']);
    const [claim] = await queue.claim(1);
    await new Promise((r) => setTimeout(r, 10));
    await queue.reap();
    expect(await queue.retry(claim, 'boom')).toEqual({ outcome: 'lost' });
    expect(await queue.stats()).toMatchObject({ ready: 1, delayed: 0, dead: 0 });
  });
});

describe('dead-letter operations', () => {
  test('redrive restores each event byte for byte (not UTF-8, not JSON), oldest first, with fresh counters', async () => {
    // GIVEN dead-lettered events, one of them bytes that are not UTF-8
    const queue = newQueue();
    const binary = Buffer.from([0x6e, 0x6f, 0x74, 0x20, 0xff, 0xfe, 0x00, 0x22, 0x5c, 0x2f, 0x0a]);
    await redis.lpush(queue.keys.ready, binary, 'second {"wait": "x"}');
    for (const claim of await queue.claim(60_000, 2)) await queue.deadLetter(claim, { reason: 'malformed', error: 'bad' });
    // WHEN
    expect(await queue.redrive()).toEqual({ redriven: 2, skipped: 0 });
    // THEN the exact bytes are back, in the order they were published
    expect(await redis.lrangeBuffer(queue.keys.ready, 0, -1)).toEqual([Buffer.from('second {"wait": "x"}'), binary]);
    expect(await queueState(redis, queue.list)).toMatchObject({ dead: [], deliveries: {}, failures: {} });
  });

  test('redrive --count takes the oldest; entries that are not DeadLetter JSON stay', async () => {
    const queue = newQueue();
    await redis.lpush(queue.keys.dead, JSON.stringify({ event: 'oldest' }), 'garbage', JSON.stringify({ event: 'newest' }));
    expect(await queue.redrive(1)).toEqual({ redriven: 1, skipped: 0 });
    expect(await redis.lrange(queue.keys.ready, 0, -1)).toEqual(['oldest']);
    expect(await queue.redrive()).toEqual({ redriven: 1, skipped: 1 });
    expect(await redis.lrange(queue.keys.dead, 0, -1)).toEqual(['garbage']);
  });

  test('redrive with a reason takes only that reason, across batches; the others stay in their order', async () => {
    // GIVEN 250 entries, oldest first, reasons in turn
    const queue = newQueue();
    const reasons = ['malformed', 'handler-failed', 'max-deliveries'] as const;
    const entries = Array.from({ length: 250 }, (_, i) => JSON.stringify({ event: `e${i}`, reason: reasons[i % 3], error: 'x', attempts: 1, failedAt: 0 }));
    await redis.lpush(queue.keys.dead, ...entries);
    // WHEN
    expect(await queue.redrive(Infinity, 7, 'handler-failed')).toEqual({ redriven: 83, skipped: 0 });
    // THEN
    const taken = entries.filter((_, i) => i % 3 === 1).map((e) => (JSON.parse(e) as { event: string }).event);
    expect(await redis.lrange(queue.keys.ready, 0, -1)).toEqual([...taken].reverse());
    expect(await redis.lrange(queue.keys.dead, 0, -1)).toEqual(entries.filter((_, i) => i % 3 !== 1).reverse());
    // AND a count limits it
    expect(await queue.redrive(5, 2, 'malformed')).toEqual({ redriven: 5, skipped: 0 });
    expect(await redis.llen(queue.keys.dead)).toBe(167 - 5);
  });

  test('purge deletes the dead list, or every key of the queue, and says what it held', async () => {
    const queue = newQueue();
    await queue.publish(['a', 'b', 'c']);
    const [held] = await queue.claim(60_000);
    await queue.deadLetter(held, { reason: 'malformed', error: 'x' });
    await queue.claim(60_000);
    expect(await queue.purge('dead')).toEqual({ list: queue.list, ready: 0, inflight: 0, delayed: 0, dead: 1 });
    expect(await queue.stats()).toMatchObject({ ready: 1, inflight: 1, dead: 0 });
    expect(await queue.purge('all')).toEqual({ list: queue.list, ready: 1, inflight: 1, delayed: 0, dead: 0 });
    expect(await redis.keys(`${queue.list}:*`)).toEqual([]);
    expect(await redis.exists(queue.list)).toBe(0);
  });
});

test('extendLeases renews many at once and names the claims that are gone', async () => {
  const queue = newQueue();
  await queue.publish(['a', 'b']);
  const [a, b] = await queue.claim(1000, 2);
  await queue.ack(b.token);
  const { deadline, lost } = await queue.extendLeases([a.token, b.token], 60_000);
  expect(lost).toEqual([b.token]);
  expect(Number(await redis.zscore(queue.keys.inflight, a.token))).toBe(deadline);
});

test('waitForEvents returns when an event arrives and leaves the list as it was', async () => {
  const queue = newQueue();
  const blocking = redis.duplicate();
  try {
    expect(await queue.waitForEvents(blocking, 50)).toBe(false);
    const waiting = queue.waitForEvents(blocking, 5000);
    await queue.publish(['first']);
    await queue.publish(['second']);
    expect(await waiting).toBe(true);
    expect(await redis.lrange(queue.keys.ready, 0, -1)).toEqual(['second', 'first']);
  } finally {
    blocking.disconnect();
  }
});

test('scripts load again after SCRIPT FLUSH', async () => {
  const queue = newQueue();
  await queue.publish(['x']);
  await redis.script('FLUSH');
  expect(await queue.claim(1000)).toHaveLength(1);
});
