/**
 * Delays past what a Node timer holds (2^31 - 1 ms, about 24.8 days) wait, rather than fire at
 * once: the shared timer helpers, and the programs that use them, run as a pod runs them.
 */
import type Redis from 'ioredis';
import { Env, queueKeys } from '../../runtime/contract';
import { MAX_TIMER_MS, setLongTimeout, sleep } from '../../runtime/sleep';
import { ourSend, startOurWorker, stopOurWorker, stopOurWorkers } from '../support/celery/our-worker';
import { runCli, startCli } from '../support/cli';
import { RedisServer } from '../support/redis-server';
import { withRedis } from '../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
afterAll(() => stopOurWorkers());

const THIRTY_DAYS_S = 30 * 24 * 3600;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('setLongTimeout and sleep', () => {
  test('a delay past the timer limit neither fires at once nor warns; Infinity never fires', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let fired = 0;
    const timers = [setLongTimeout(() => fired++, MAX_TIMER_MS + 1), setLongTimeout(() => fired++, THIRTY_DAYS_S * 1000), setLongTimeout(() => fired++, Infinity)];
    const abort = new AbortController();
    let slept = false;
    const sleeping = sleep(THIRTY_DAYS_S * 1000, abort.signal).then(() => (slept = true));
    await pause(200);
    expect({ fired, slept }).toEqual({ fired: 0, slept: false });
    abort.abort();
    await sleeping;
    for (const t of timers) t.clear();
    process.removeListener('warning', onWarning);
    expect(warnings.map((w) => w.name)).toEqual([]);
  });

  test('a short delay still fires on time', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => setLongTimeout(resolve, 50));
    // A lower bound: late is allowed on a loaded machine, early is not (5 ms of clock slack).
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});

test('a demo event with wait 2,200,000 s is worked on, not "processed" in a millisecond', async () => {
  // GIVEN
  const list = 'timers-long-wait';
  await redis.lpush(list, JSON.stringify({ id: 'long', wait: 2_200_000 }));
  // WHEN
  const consumer = startCli(['consume', '--once', '--grace', '0'], { env: { [Env.REDIS_URL]: server.url, [Env.LIST_NAME]: list } });
  await consumer.waitForLog((l) => l.msg === 'working on event');
  await pause(1500);
  // THEN still working on it, holding its lease
  expect(consumer.logs.map((l) => l.msg)).not.toContain('event processed');
  expect(await redis.zcard(queueKeys(list).inflight)).toBe(1);
  // AND a stop hands it back; stderr holds only log lines (no TimeoutOverflowWarning)
  consumer.child.kill('SIGTERM');
  const result = await consumer.done;
  expect(result.code).toBe(0);
  expect(await redis.lrange(list, 0, -1)).toEqual([JSON.stringify({ id: 'long', wait: 2_200_000 })]);
  expect(result.stderr.trim().split('\n')).toHaveLength(result.logs.length);
  expect(result.stderr).not.toContain('TimeoutOverflowWarning');
});

test('--lease 10000000 renews and reaps at a sane pace: a handful of script calls in 3 s, not thousands', async () => {
  const list = 'timers-long-lease';
  await redis.lpush(list, JSON.stringify({ id: 'a', wait: 3 }));
  const consumer = startCli(['consume', '--lease', '10000000', '--metrics-port', '0', '--grace', '0'], { env: { [Env.REDIS_URL]: server.url, [Env.LIST_NAME]: list } });
  await consumer.waitForLog((l) => l.msg === 'working on event');
  await redis.config('RESETSTAT');
  await pause(3000);
  const stats = await redis.info('commandstats');
  const calls = [...stats.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[2]), 0);
  consumer.child.kill('SIGTERM');
  const result = await consumer.done;
  expect(result.code).toBe(0);
  // The claim lanes wait on the empty list (BLMOVE, not a script); an ack or two may land.
  expect(calls).toBeLessThan(10);
  expect(result.stderr).not.toContain('TimeoutOverflowWarning');
});

test('a Celery task with a time_limit of 30 days runs to SUCCESS instead of failing at once with TimeLimitExceeded', async () => {
  const worker = await startOurWorker({ redisUrl: server.url, queues: ['timers-celery'] });
  const { ids } = await ourSend(server.url, 'tasks.sleep', { args: [0.3], timeLimit: THIRTY_DAYS_S, queue: 'timers-celery' });
  let meta: { status?: string; result?: unknown } = {};
  for (let i = 0; i < 100 && meta.status === undefined; i++) {
    await pause(100);
    const stored = await redis.get(`celery-task-meta-${ids[0]}`);
    if (stored) meta = JSON.parse(stored);
  }
  expect(meta).toMatchObject({ status: 'SUCCESS', result: 0.3 });
  const result = await stopOurWorker(worker);
  expect(result.stderr).not.toContain('TimeoutOverflowWarning');
  expect(result.logs.at(-1)).toMatchObject({ msg: 'celery worker stopped', succeeded: 1, failed: 0, handedBack: 0 });
});

test.each([
  [['consume', '--lease', '1e12'], /--lease \(or env LEASE_SECONDS\) must be at most 1000000000, got 1000000000000/],
  [['celery-send', '--time-limit', '1e300'], /--time-limit \(or env CELERY_TIME_LIMIT\) must be at most 1000000000/],
])('%j: a duration no timer or clock can mean is a usage error', async (args, message) => {
  const result = await runCli(args);
  expect(result.code).toBe(2);
  expect(result.logs.at(-1)?.msg).toMatch(message);
});
