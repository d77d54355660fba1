/**
 * A queue at `maxmemory` (noeviction, as RedisQueue configures it) refuses producers and still
 * drains: publishers and celery-send fail with "queue full" (exit 1, a metric when long-running),
 * while `consume` (loop and Job mode) and celery-worker take, finish and free until it is empty.
 */
import type Redis from 'ioredis';
import { CeleryKeys, Metrics, queueKeys } from '../../../runtime/contract';
import { runCli, startCli, waitFor } from '../../support/cli';
import { EMPTY_QUEUE, queueState } from '../../support/queue-state';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { killWorkers, startWorker, stopWorker } from '../celery/helpers';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
afterEach(async () => {
  await killWorkers();
  await redis.config('SET', 'maxmemory', '0');
});

/** Caps Redis a little above what it holds now, so a few thousand events fill it. */
async function capMemory(headroomBytes: number): Promise<number> {
  const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  const limit = used + headroomBytes;
  await redis.config('SET', 'maxmemory-policy', 'noeviction');
  await redis.config('SET', 'maxmemory', String(limit));
  return limit;
}

/** LPUSHes small events until Redis refuses one with OOM; returns how many it took. */
async function topUp(list: string): Promise<number> {
  for (let n = 0; ; n++) {
    try {
      await redis.lpush(list, '{"wait":0}');
    } catch (error) {
      expect((error as Error).message).toMatch(/^OOM command not allowed/);
      return n;
    }
  }
}

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);

test('publish at maxmemory: exit 1 with "queue full"; Job-mode and loop consumers then drain it to empty, due retries included', async () => {
  // GIVEN due retries (the claim script moves them to the ready list first) and a Redis filled to its limit
  const list = 'full-events';
  const keys = queueKeys(list);
  for (let i = 0; i < 5; i++) {
    await redis.zadd(keys.delayed, 1, `retry-${i}`);
    await redis.hset(keys.delayedEvents, `retry-${i}`, JSON.stringify({ id: `retry-${i}`, wait: 0 }));
  }
  const limit = await capMemory(1024 * 1024);
  const fill = await runCli(['publish', '--count', '1000000', '--batch', '200', '--interval', '0', '--wait-min', '0', '--wait-max', '0', '--list', list, '--redis', server.url]);

  // THEN the publisher failed saying the queue is full, and what it did store is all there
  expect(fill.code).toBe(1);
  expect(fill.stderr).toContain(`queue full: Redis is at its maxmemory and refused 200 new items for '${list}'`);
  const published = fill.logs.filter((l) => l.msg === 'published batch').length * 200;
  expect(published).toBeGreaterThan(3000);
  expect(await redis.llen(list)).toBe(published);
  // The publisher's client buffers went with it: top up until Redis refuses again.
  const toppedUp = await topUp(list);
  expect(await usedMemory()).toBeGreaterThan(limit);

  // WHEN a Job-mode consumer runs on the full queue
  const job = await runCli(['consume', '--once', '--list', list, '--redis', server.url]);

  // THEN it took the first due retry, handled and acknowledged it
  expect(job.code).toBe(0);
  expect(job.logs.find((l) => l.msg === 'event processed')?.eventId).toBe('retry-0');
  expect(await redis.llen(list)).toBe(published + toppedUp + 4);

  // WHEN a loop-mode consumer runs
  const consumer = startCli(['consume', '--concurrency', '50', '--metrics-port', '0', '--log-level', 'warn', '--list', list, '--redis', server.url]);
  try {
    await waitFor(async () => (await redis.llen(list)) === 0 && (await redis.zcard(keys.inflight)) === 0, 'the full queue drained', 60_000);
  } finally {
    consumer.child.kill('SIGTERM');
  }
  expect((await consumer.done).code).toBe(0);

  // THEN nothing is left, nothing was dead-lettered, and the queue takes events again
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  const again = await runCli(['publish', '--count', '10', '--interval', '0', '--list', list, '--redis', server.url]);
  expect(again.code).toBe(0);
  expect(await redis.llen(list)).toBe(10);
});

test('a publisher running forever counts refused events in redis_keda_publish_rejected_total and keeps going', async () => {
  const list = 'full-forever';
  await capMemory(256 * 1024);
  const fill = await runCli(['publish', '--count', '1000000', '--batch', '200', '--interval', '0', '--list', list, '--redis', server.url]);
  expect(fill.code).toBe(1);

  const publisher = startCli(['publish', '--forever', '--batch', '7', '--interval', '0.05', '--metrics-port', '0', '--list', list, '--redis', server.url]);
  try {
    const { port } = await publisher.waitForLog((l) => l.msg === 'health server listening');
    const refused = await publisher.waitForLog((l) => l.msg === 'publish failed; retrying after the interval');
    expect(refused.error).toContain('queue full');
    let text = '';
    await waitFor(async () => metric((text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), Metrics.PUBLISH_REJECTED) >= 7, 'a rejected batch counted');
    expect(metric(text, Metrics.PUBLISH_REJECTED) % 7).toBe(0);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  } finally {
    publisher.child.kill('SIGTERM');
  }
  expect((await publisher.done).code).toBe(0);
  await redis.del(list);
});

test('celery-send at maxmemory: exit 1 with "queue full"; celery-worker stores every result and drains the broker to empty', async () => {
  // GIVEN a broker filled with tasks to its limit
  const queue = 'full-celery';
  await capMemory(512 * 1024);
  const fill = await runCli(['celery-send', '--task', 'tasks.noop', '--queue', queue, '--count', '100000', '--redis', server.url], { timeoutMs: 60_000 });
  expect(fill.code).toBe(1);
  expect(fill.stderr).toContain(`queue full: Redis is at its maxmemory and refused 1 new item for '${queue}'`);
  const sent = fill.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  expect(sent.length).toBeGreaterThan(300);
  expect(await redis.llen(queue)).toBe(sent.length);
  await topUp(`${queue}:filler`);

  // WHEN our worker consumes the full broker
  const worker = await startWorker(server.url, ['--queues', queue, '--concurrency', '20']);
  await waitFor(async () => (await redis.llen(queue)) === 0 && (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the full broker drained', 60_000);
  expect((await stopWorker(worker)).code).toBe(0);

  // THEN every task has its SUCCESS, and nothing is left unacknowledged
  const results = await redis.mget(...sent.map((id) => CeleryKeys.taskMeta(id)));
  expect(results.filter((r) => r !== null && (JSON.parse(r) as { status: string }).status === 'SUCCESS')).toHaveLength(sent.length);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
  await redis.del(`${queue}:filler`, ...sent.map((id) => CeleryKeys.taskMeta(id)));
});
