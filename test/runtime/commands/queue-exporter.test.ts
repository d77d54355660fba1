/**
 * `queue exporter` as a pod runs it: the CLI as a child process configured by env, a real
 * redis-server, the queue brought into known states through the queue's own operations.
 */
import type Redis from 'ioredis';
import { Env, HEALTH_PATH, METRICS_PATH, MetricLabels, Metrics, QUEUE_STATES, READY_PATH } from '../../../runtime/contract';
import { Queue } from '../../../runtime/queue/queue';
import { RunningProcess, runCli, startCli, waitFor } from '../../support/cli';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of `name` in a text exposition. */
function samples(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    found.push({ labels, value: Number(match[2]) });
  }
  return found;
}

function depthOf(text: string, list: string): Record<string, number> {
  return Object.fromEntries(
    samples(text, Metrics.QUEUE_DEPTH)
      .filter((s) => s.labels[MetricLabels.LIST] === list)
      .map((s) => [s.labels[MetricLabels.STATE], s.value]),
  );
}

function ageOf(text: string, list: string): number | undefined {
  return samples(text, Metrics.QUEUE_OLDEST_READY_AGE).find((s) => s.labels[MetricLabels.LIST] === list)?.value;
}

const event = (id: string, enqueuedAt: number) => JSON.stringify({ id, enqueuedAt, wait: 1 });

describe('queue exporter', () => {
  let exporter: RunningProcess;
  let port: number;
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  const scrape = async () => (await get(METRICS_PATH)).text();

  beforeAll(async () => {
    exporter = startCli(['queue', 'exporter'], {
      env: { REDIS_URL: server.url, [Env.EXPORTER_LISTS]: 'orders, empty,bare,orders', [Env.METRICS_PORT]: '0', [Env.EXPORTER_SCRAPE_TIMEOUT]: '1' },
    });
    ({ port } = (await exporter.waitForLog((l) => l.msg === 'health server listening')) as unknown as { port: number });
    await exporter.waitForLog((l) => l.msg === 'queue exporter running');
  });

  afterAll(async () => {
    exporter.child.kill('SIGTERM');
    expect((await exporter.done).code).toBe(0);
  });

  test('exact depth by state and the head age after pushes, claims, a retry and a dead-letter; no consumer runs', async () => {
    const queue = new Queue(redis, 'orders');
    const now = Date.now();
    // Published oldest first: o0 is taken first (RPOP end), then o1, o2; o3 is then the head.
    for (const [i, age] of [100_000, 90_000, 80_000, 42_000, 10_000, 5_000].entries()) await queue.publish([event(`o${i}`, now - age)]);
    const claims = await queue.claim(60_000, 3);
    expect(claims.map((c) => (JSON.parse(c.raw) as { id: string }).id)).toEqual(['o0', 'o1', 'o2']);
    expect((await queue.retry(claims[0], 'boom')).outcome).toBe('retried');
    expect(await queue.deadLetter(claims[1], { reason: 'malformed', error: 'test' })).toBe(true);

    const before = Date.now();
    const text = await scrape();
    const after = Date.now();
    expect(depthOf(text, 'orders')).toEqual({ ready: 3, inflight: 1, delayed: 1, dead: 1 });
    // The head's age is read between the request and its answer, on this machine's clock:
    // bracketed by the two clock reads around the scrape (ms resolution of enqueuedAt and the clock).
    const age = ageOf(text, 'orders') as number;
    expect(age).toBeGreaterThanOrEqual((before - (now - 42_000)) / 1000 - 0.001);
    expect(age).toBeLessThanOrEqual((after - (now - 42_000)) / 1000 + 0.001);
    // An empty list: all zeros and age 0; the duplicate name in the env is exported once.
    expect(depthOf(text, 'empty')).toEqual(Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])));
    expect(ageOf(text, 'empty')).toBe(0);
    expect(samples(text, Metrics.QUEUE_OLDEST_READY_AGE)).toHaveLength(3);
    expect(samples(text, Metrics.QUEUE_EXPORTER_UP)).toEqual([{ labels: {}, value: 1 }]);
  });

  test('an event without enqueuedAt at the head is aged from when the exporter first saw it', async () => {
    await redis.lpush('bare', '{"wait": 3}');
    const first = ageOf(await scrape(), 'bare');
    expect(first).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(ageOf(await scrape(), 'bare')).toBeGreaterThanOrEqual(1.1 - 0.001);
    expect(depthOf(await scrape(), 'bare').ready).toBe(1);
  });

  test('Redis slower than the scrape timeout (CLIENT PAUSE): up 0 after the 1 s timeout, then 1 again', async () => {
    await redis.call('CLIENT', 'PAUSE', '2500', 'ALL');
    const started = Date.now();
    const text = await scrape();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(2400);
    expect(samples(text, Metrics.QUEUE_EXPORTER_UP)).toEqual([{ labels: {}, value: 0 }]);
    expect(samples(text, Metrics.QUEUE_DEPTH)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect(samples(await scrape(), Metrics.QUEUE_EXPORTER_UP)).toEqual([{ labels: {}, value: 1 }]);
  });

  test('Redis down: /readyz 503, up 0 and no depth series; /healthz stays 200; all back when Redis returns', async () => {
    expect((await get(READY_PATH)).status).toBe(200);
    await server.shutdown();
    try {
      await waitFor(async () => (await get(READY_PATH)).status === 503, '/readyz 503');
      expect((await get(HEALTH_PATH)).status).toBe(200);
      const text = await scrape();
      expect(samples(text, Metrics.QUEUE_EXPORTER_UP)).toEqual([{ labels: {}, value: 0 }]);
      expect(samples(text, Metrics.QUEUE_DEPTH)).toEqual([]);
      expect(samples(text, Metrics.QUEUE_OLDEST_READY_AGE)).toEqual([]);
    } finally {
      await server.start();
    }
    await waitFor(async () => (await get(READY_PATH)).status === 200, '/readyz 200 again', 15_000);
    const text = await scrape();
    expect(samples(text, Metrics.QUEUE_EXPORTER_UP)).toEqual([{ labels: {}, value: 1 }]);
    // Without AOF the restarted server is empty.
    expect(depthOf(text, 'orders')).toEqual({ ready: 0, inflight: 0, delayed: 0, dead: 0 });
    await exporter.waitForLog((l) => l.msg === 'queue exporter cannot read Redis; up is 0');
    await exporter.waitForLog((l) => l.msg === 'queue exporter reads Redis again');
  }, 30_000);
});

test('--lists with an empty name is a usage error (exit 2)', async () => {
  const result = await runCli(['queue', 'exporter', '--lists', 'a,,b'], { env: { REDIS_URL: server.url } });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`--lists (or env ${Env.EXPORTER_LISTS}) must be list names separated by commas, got 'a,,b'`);
});
