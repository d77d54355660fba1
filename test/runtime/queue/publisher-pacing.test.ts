/** The paced publisher's catch-up rule, in process against a real redis-server: a stalled event loop must not cause a burst. */
import type Redis from 'ioredis';
import { publishEvents } from '../../../runtime/queue/publisher';
import { fixedRate } from '../../../runtime/queue/rate-file';
import { withRedis } from '../../support/redis-fixture';

let redis: Redis;
withRedis((_s, r) => (redis = r));

test('after a 1 s stall at 20/s in batches of 2, at most one catch-up batch leaves at once; the 20 missed events are not made up', async () => {
  const list = 'pacing-stall';
  let stalledUntil = 0;
  // Stall the event loop 0.5 s in: every timer of the publisher fires late.
  setTimeout(() => {
    const end = Date.now() + 1000;
    while (Date.now() < end);
    stalledUntil = Date.now();
  }, 500);
  const started = Date.now();
  expect(await publishEvents({ redis, list, count: 40, batch: 2, rate: fixedRate(20), waitMin: 0, waitMax: 0 })).toBe(40);
  const times = (await redis.lrange(list, 0, -1)).map((raw) => (JSON.parse(raw) as { enqueuedAt: number }).enqueuedAt).sort((a, b) => a - b);
  // Right after the stall: the late batch and one catch-up batch (4 events), not the 20 due meanwhile.
  const burst = times.filter((t) => t >= stalledUntil && t < stalledUntil + 40).length;
  expect(burst).toBeLessThanOrEqual(4);
  expect(burst).toBeGreaterThanOrEqual(2);
  // 40 events at 20/s take 1.9 s on schedule; the stall's forgiven debt (1 s less the one batch made up) comes on top.
  const span = times[39] - started;
  expect(span).toBeGreaterThan(1900 + 1000 - 100 - 150);
  expect(span).toBeLessThan(1900 + 1000 + 300);
  // After the stall, the rate is 20/s again: batches 100 ms apart.
  const after = times.filter((t) => t >= stalledUntil + 150);
  for (let i = 2; i < after.length; i += 2) expect(after[i] - after[i - 2]).toBeGreaterThan(60);
});
