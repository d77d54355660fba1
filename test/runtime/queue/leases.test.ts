/** LeaseKeeper on a real redis-server: one renewal call for every event in hand, and a lost lease noticed. */
import type Redis from 'ioredis';
import { queueKeys } from '../../../runtime/contract';
import { createLogger } from '../../../runtime/log';
import { LeaseKeeper } from '../../../runtime/queue/leases';
import { Queue } from '../../../runtime/queue/queue';
import { withRedis } from '../../support/redis-fixture';

let redis: Redis;
withRedis((_server, r) => (redis = r));

function capture() {
  const logged: { level: string; msg: string; token?: string }[] = [];
  return { logged, log: createLogger({ level: 'debug', format: 'json', write: (line) => logged.push(JSON.parse(line)) }) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('every third of the lease all leases in hand move on in one script call; released ones are not renewed', async () => {
  // GIVEN three events claimed under a 600 ms lease, held by one keeper
  const list = 'keeper-renews';
  await redis.lpush(list, 'a', 'b', 'c');
  const queue = new Queue(redis, list);
  const since = Date.now();
  const { claims } = await queue.claimBatch(600, 3);
  const { logged, log } = capture();
  const keeper = new LeaseKeeper(queue, 600, log);
  const held = claims.map((c) => keeper.hold(c, since));
  expect(keeper.size).toBe(3);
  expect(held.map((h) => h.heldUntil)).toEqual([since + 600, since + 600, since + 600]);
  const first = await Promise.all(claims.map((c) => redis.zscore(queueKeys(list).inflight, c.token)));
  keeper.release(held[2]);
  // WHEN three lease lengths pass (the keeper's timer fires every 200 ms)
  // Each renewal is one extendLeases call, one Lua script (counted in process: MONITOR under load raced ioredis' reply queue).
  const extend = jest.spyOn(queue, 'extendLeases');
  await sleep(1800);
  const renewalCalls = [...extend.mock.calls];
  extend.mockRestore();
  // THEN the two still held are leased still, later than at the claim; the released one ran out
  const later = await Promise.all(claims.map((c) => redis.zscore(queueKeys(list).inflight, c.token)));
  expect(Number(later[0])).toBeGreaterThan(Number(first[0]) + 1000);
  expect(Number(later[1])).toBeGreaterThan(Number(first[1]) + 1000);
  expect(Number(later[2])).toBe(Number(first[2]));
  expect(held[0].heldUntil).toBeGreaterThan(since + 1600);
  expect(held.map((h) => h.lost)).toEqual([false, false, false]);
  // one call per renewal for every lease in hand (about 9 in 1.8 s), never one per event
  const renewals = renewalCalls.length;
  expect(renewals).toBeGreaterThanOrEqual(6);
  expect(renewals).toBeLessThanOrEqual(10);
  // each with both leases in hand and never the released one
  expect(new Set(renewalCalls.map(([tokens]) => JSON.stringify(tokens)))).toEqual(new Set([JSON.stringify([claims[0].token, claims[1].token])]));
  await keeper.stop();
  expect(logged).toEqual([]);
});

test('a lease gone while the handler runs marks the event lost and stops renewing it; one being settled is not flagged', async () => {
  // GIVEN two events held under a 300 ms lease
  const list = 'keeper-loses';
  await redis.lpush(list, 'x', 'y');
  const queue = new Queue(redis, list);
  const since = Date.now();
  const { claims } = await queue.claimBatch(300, 2);
  const { logged, log } = capture();
  const keeper = new LeaseKeeper(queue, 300, log);
  const [running, settling] = claims.map((c) => keeper.hold(c, since));
  settling.settling = true;
  // WHEN both leases go away (handed back by someone else)
  expect(await queue.handBack(claims.map((c) => c.token))).toBe(2);
  await sleep(250);
  await keeper.stop();
  // THEN the running one is lost, with a warning naming its token; the settling one is left to its outcome
  expect(running.lost).toBe(true);
  expect(settling.lost).toBe(false);
  expect(keeper.size).toBe(1);
  expect(logged).toEqual([expect.objectContaining({ level: 'warn', msg: 'lease lost: the event was requeued while its handler still runs', token: running.claim.token })]);
});
