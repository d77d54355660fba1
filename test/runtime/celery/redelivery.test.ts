/**
 * acks_late through kombu's keys: a dead worker's messages are restored after the visibility
 * timeout (by our workers too, under unacked_mutex), a live worker's long task never is, and a
 * stopping worker hands back what it holds.
 */
import type Redis from 'ioredis';
import { CeleryKeys, celeryPriorityList } from '../../../runtime/contract';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { waitFor } from '../../support/cli';
import { killWorkers, resultOf, send, startWorker, stopWorker, TASKS_MODULE, unackedState } from './helpers';
import { buildTaskMessage } from '../../../runtime/celery/producer';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
beforeEach(() => redis.flushall());
afterEach(() => killWorkers());

interface Envelope {
  headers: Record<string, unknown>;
  properties: { delivery_tag: string; delivery_info: Record<string, unknown>; priority: number };
}

/** What a worker that died holding `message` left behind: its unacked entry, taken `ageSeconds` ago. */
async function orphan(raw: string, routingKey: string, ageSeconds: number, exchange = ''): Promise<string> {
  const tag = (JSON.parse(raw) as Envelope).properties.delivery_tag;
  await redis.hset(CeleryKeys.UNACKED, tag, JSON.stringify([JSON.parse(raw), exchange, routingKey]));
  await redis.zadd(CeleryKeys.UNACKED_INDEX, String(Date.now() / 1000 - ageSeconds), tag);
  return tag;
}

test('a dead worker’s message older than the visibility timeout is restored to its list at its priority, marked redelivered, as kombu does', async () => {
  // GIVEN two orphaned messages: one 100 s old (priority 4, so step 3), one 1 s old
  const old = buildTaskMessage({ task: 'tasks.add', args: [1, 2], queue: 'orphans', priority: 4 });
  const young = buildTaskMessage({ task: 'tasks.add', args: [3, 4], queue: 'orphans' });
  const oldTag = await orphan(old.raw, 'orphans', 100);
  const youngTag = await orphan(young.raw, 'orphans', 1);

  // WHEN a worker of another queue starts with a 30 s visibility timeout (it restores once at start)
  const worker = await startWorker(server.url, ['--queues', 'elsewhere', '--visibility-timeout', '30']);
  await worker.waitForLog((l) => l.msg === 'restored unacknowledged messages past the visibility timeout');

  // THEN the old one is back on its priority list with redelivered set, gone from both keys
  const restored = await redis.lrange(celeryPriorityList('orphans', 3), 0, -1);
  expect(restored).toHaveLength(1);
  const message = JSON.parse(restored[0]) as Envelope;
  const original = JSON.parse(old.raw) as Envelope;
  expect(message.headers).toEqual({ ...original.headers, redelivered: true });
  expect(message.properties.delivery_info).toEqual({ exchange: '', routing_key: 'orphans', redelivered: true });
  expect(message.properties.delivery_tag).toBe(oldTag);
  // AND the young one is left alone
  expect(await unackedState(redis)).toEqual({ unacked: { [youngTag]: expect.any(String) }, index: [youngTag] });
  // AND the mutex was released
  expect(await redis.exists(CeleryKeys.UNACKED_MUTEX)).toBe(0);
  await stopWorker(worker);
});

test('a message of a named exchange goes back to the queues its binding set routes the key to', async () => {
  await redis.sadd(CeleryKeys.binding('tasks'), 'rk-a\x06\x16\x06\x16bound-a', 'rk-b\x06\x16\x06\x16bound-b');
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'bound-a' });
  await orphan(message.raw, 'rk-a', 100, 'tasks');
  const worker = await startWorker(server.url, ['--queues', 'elsewhere', '--visibility-timeout', '30']);
  await worker.waitForLog((l) => l.msg === 'restored unacknowledged messages past the visibility timeout');
  expect(await redis.llen('bound-a')).toBe(1);
  expect(await redis.llen('bound-b')).toBe(0);
  await stopWorker(worker);
});

test('nothing is restored while another worker holds unacked_mutex', async () => {
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'locked' });
  const tag = await orphan(message.raw, 'locked', 100);
  await redis.set(CeleryKeys.UNACKED_MUTEX, 'python-worker-token', 'PX', 300_000);
  const worker = await startWorker(server.url, ['--queues', 'elsewhere', '--visibility-timeout', '30']);
  await stopWorker(worker);
  expect(await redis.llen('locked')).toBe(0);
  expect(await redis.hexists(CeleryKeys.UNACKED, tag)).toBe(1);
  expect(await redis.get(CeleryKeys.UNACKED_MUTEX)).toBe('python-worker-token');
});

test('kill -9 mid-task: another worker restores the message after the visibility timeout and runs it again', async () => {
  // GIVEN a worker killed while its task runs
  const first = await startWorker(server.url, ['--queues', 'crash', '--tasks', TASKS_MODULE], { RUNS_KEY: 'crash:runs' });
  const message = await send(redis, { task: 'test.slow', args: [60_000], queue: 'crash' });
  await waitFor(async () => (await redis.hget('crash:runs', message.id)) === '1', 'the task started');
  first.child.kill('SIGKILL');
  await first.done;
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(1);

  // WHEN another worker with a 2 s visibility timeout runs (restore pass every second)
  const second = await startWorker(server.url, ['--queues', 'crash', '--tasks', TASKS_MODULE, '--visibility-timeout', '2'], { RUNS_KEY: 'crash:runs' });
  // THEN it restores and runs the task again (its second run)
  await waitFor(async () => (await redis.hget('crash:runs', message.id)) === '2', 'the task ran again', 15_000);
  const line = await second.waitForLog((l) => l.msg === 'restored unacknowledged messages past the visibility timeout');
  expect(line.restored).toBe(1);
  second.child.kill('SIGKILL');
});

test('a live worker keeps its long task fresh: another worker with the same visibility timeout never restores it', async () => {
  // GIVEN a task that runs 5 s, on a worker with a 2 s visibility timeout (it refreshes every 0.5 s)
  const owner = await startWorker(server.url, ['--queues', 'long', '--tasks', TASKS_MODULE, '--visibility-timeout', '2'], { RUNS_KEY: 'long:runs' });
  const message = await send(redis, { task: 'test.slow', args: [5000], queue: 'long' });
  // AND a second worker on the same queue restoring every second
  const other = await startWorker(server.url, ['--queues', 'long', '--tasks', TASKS_MODULE, '--visibility-timeout', '2'], { RUNS_KEY: 'long:runs' });

  // THEN the task ran once and succeeded
  expect(await resultOf(redis, message.id, 15_000)).toMatchObject({ status: 'SUCCESS', result: 5000 });
  expect(await redis.hget('long:runs', message.id)).toBe('1');
  expect(other.logs.some((l) => l.msg === 'restored unacknowledged messages past the visibility timeout')).toBe(false);
  await Promise.all([stopWorker(owner), stopWorker(other)]);
  expect(await redis.llen('long')).toBe(0);
});

test('SIGTERM: running tasks get the grace period, then everything still held (eta tasks too) goes back, redelivered; exit 0', async () => {
  // GIVEN a worker running a long task and holding an eta task, and a short task that finishes within the grace
  const worker = await startWorker(server.url, ['--queues', 'term', '--tasks', TASKS_MODULE, '--grace', '1', '--concurrency', '2'], { RUNS_KEY: 'term:runs' });
  const long = await send(redis, { task: 'test.slow', args: [60_000], queue: 'term' });
  const short = await send(redis, { task: 'test.slow', args: [300], queue: 'term' });
  const eta = await send(redis, { task: 'tasks.noop', queue: 'term', eta: Date.now() + 600_000 });
  await waitFor(async () => (await redis.hget('term:runs', long.id)) === '1' && (await redis.hget('term:runs', short.id)) === '1', 'both tasks started');
  await worker.waitForLog((l) => l.msg === 'task received, waiting for its eta');

  // WHEN it gets SIGTERM
  const result = await stopWorker(worker);

  // THEN it exits 0; the short task finished with a result; the long and the eta one are back on the list, redelivered
  expect(result.code).toBe(0);
  expect(await resultOf(redis, short.id)).toMatchObject({ status: 'SUCCESS' });
  const back = (await redis.lrange('term', 0, -1)).map((raw) => JSON.parse(raw) as Envelope & { headers: { id: string } });
  expect(back.map((m) => m.headers.id).sort()).toEqual([long.id, eta.id].sort());
  for (const m of back) expect(m.headers.redelivered).toBe(true);
  expect(await redis.exists(CeleryKeys.taskMeta(long.id))).toBe(0);
  expect(await unackedState(redis)).toEqual({ unacked: {}, index: [] });
});

test('an unacked entry that is not [message, exchange, routing_key] is left in place and logged; the rest is restored', async () => {
  await redis.hset(CeleryKeys.UNACKED, 'broken', 'not json');
  await redis.zadd(CeleryKeys.UNACKED_INDEX, String(Date.now() / 1000 - 100), 'broken');
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'mixed' });
  await orphan(message.raw, 'mixed', 100);
  const worker = await startWorker(server.url, ['--queues', 'elsewhere', '--visibility-timeout', '30']);
  const line = await worker.waitForLog((l) => l.level === 'error' && /not \[message, exchange, routing_key\]/.test(l.msg));
  expect(line.tags).toEqual(['broken']);
  await waitFor(async () => (await redis.llen('mixed')) === 1, 'the readable one restored');
  expect(await redis.hget(CeleryKeys.UNACKED, 'broken')).toBe('not json');
  expect((await stopWorker(worker)).code).toBe(0);
});
