/**
 * The two halves agree: the keys the worker-fleet and celery-worker charts' KEDA triggers name are
 * the keys the runtime (and, for Celery, the real Python Celery) really writes, of a type KEDA's
 * redis scaler counts, holding the work it should see.
 */
import { execFile } from 'child_process';
import { promisify } from 'util';
import { Testing } from 'cdk8s';
import Redis from 'ioredis';
import { buildApp } from '../main';
import { runConsumer } from '../runtime';
import { CELERY_APP_DIR, executions, PYTHON, pythonCeleryEnv, PythonCeleryOptions, pythonSend, startPythonWorker, stopPythonWorkers } from './support/python-celery';
import { RedisServer } from './support/redis-server';
import { withRedis } from './support/redis-fixture';

/** The chart's ScaledObject triggers, as trigger name -> Redis key. */
function triggerKeys(chartId: string): Record<string, string> {
  const chart = buildApp(Testing.app()).charts.find((c) => c.node.id === chartId)!;
  const so = (Testing.synth(chart) as any[]).find((d) => d.kind === 'ScaledObject');
  return Object.fromEntries(so.spec.triggers.map((t: any) => [t.name, t.metadata.listName]));
}

/** What KEDA's redis scaler reads for a key (its Lua counts a list, zset, set or hash; else 0). */
async function kedaCount(redis: Redis, key: string): Promise<number> {
  switch (await redis.type(key)) {
    case 'list':
      return redis.llen(key);
    case 'zset':
      return redis.zcard(key);
    case 'set':
      return redis.scard(key);
    case 'hash':
      return redis.hlen(key);
    case 'none':
      return 0;
    default:
      throw new Error(`KEDA cannot count key ${key}`);
  }
}

async function countAll(redis: Redis, keyOf: Record<string, string>): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(Object.entries(keyOf).map(async ([n, k]) => [n, await kedaCount(redis, k)])));
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

let server: RedisServer;
let redis: Redis;
withRedis((s, client) => {
  server = s;
  redis = client;
});

describe('worker-fleet triggers against the runtime', () => {
  test('ready, in-flight and delayed work each show up in exactly one trigger', async () => {
    const keyOf = triggerKeys('worker-fleet');
    expect(Object.keys(keyOf).sort()).toEqual(['delayed', 'inflight', 'ready']);

    const list = keyOf.ready;
    // 8 events whose handler blocks and 1 that fails (its retry waits 60 s in the delayed set).
    const events = [
      ...[1, 2, 3].map((i) => JSON.stringify({ id: `hold-${i}`, wait: 1 })),
      JSON.stringify({ id: 'fail', wait: 2 }),
      ...[1, 2, 3, 4, 5].map((i) => JSON.stringify({ id: `later-${i}`, wait: 3 })),
    ];
    await redis.lpush(list, ...events);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const stop = new AbortController();
    const client = redis.duplicate();
    const consumer = runConsumer({
      redis: client,
      list,
      concurrency: 4,
      backoffSeconds: 60,
      graceSeconds: 5,
      signal: stop.signal,
      blockingWait: false,
      handler: async (event) => {
        if (event.id === 'fail') throw new Error('try again later');
        await held;
      },
    });
    try {
      const counts = await eventually(
        () => countAll(redis, keyOf),
        (c) => c.inflight === 4 && c.delayed === 1,
        5_000,
      );
      // The fourth slot freed by the failure takes one more event: 4 held, 1 delayed, 4 ready.
      expect(counts).toEqual({ ready: 4, inflight: 4, delayed: 1 });
    } finally {
      release();
      stop.abort();
      await consumer;
      await client.quit();
    }
  });
});

describe('celery-worker triggers against the real Python Celery', () => {
  afterAll(() => stopPythonWorkers());

  test('tasks waiting at each priority, held for their eta, or stranded by a killed worker each show up in a trigger', async () => {
    const keyOf = triggerKeys('celery-worker');
    expect(Object.keys(keyOf)).toEqual(['celery', 'celery-priority-3', 'celery-priority-6', 'celery-priority-9', 'unacked']);
    const celery: PythonCeleryOptions = { redisUrl: server.url, acksLate: true };

    // No worker yet: Python's send_task with a priority lands in kombu's priority lists, which LLEN celery never sees.
    await promisify(execFile)(
      PYTHON,
      [
        '-c',
        [
          'from app import app',
          "app.send_task('tasks.noop', queue='celery')",
          "app.send_task('tasks.noop', queue='celery', priority=3)",
          "for _ in range(2): app.send_task('tasks.noop', queue='celery', priority=9)",
        ].join('\n'),
      ],
      { cwd: CELERY_APP_DIR, env: pythonCeleryEnv(celery) },
    );
    expect(await countAll(redis, keyOf)).toEqual({ celery: 1, 'celery-priority-3': 1, 'celery-priority-6': 0, 'celery-priority-9': 2, unacked: 0 });

    // A worker drains them all, then holds a countdown task until its eta and runs a long one (acks_late).
    const worker = await startPythonWorker({ ...celery, concurrency: 2 });
    await eventually(
      () => executions(redis),
      (runs) => runs.length === 4,
    );
    const [held] = await pythonSend(celery, 'tasks.noop', { countdown: 120 });
    const [long] = await pythonSend(celery, 'tasks.sleep', { args: [120] });
    await eventually(
      () => executions(redis),
      (runs) => runs.some((r) => r.id === long.id),
    );
    const busy = { celery: 0, 'celery-priority-3': 0, 'celery-priority-6': 0, 'celery-priority-9': 0, unacked: 2 };
    expect(await countAll(redis, keyOf)).toEqual(busy);

    // SIGKILL: both tasks stay in `unacked` until a running worker restores them after the visibility
    // timeout. Every list reads 0, so on the list alone KEDA would scale to zero and nobody would.
    await worker.kill();
    expect(await countAll(redis, keyOf)).toEqual(busy);
    expect(JSON.parse((await redis.hget(keyOf.unacked, (await redis.hkeys(keyOf.unacked))[0]))!)[0].headers.id).toMatch(new RegExp(`^(${held.id}|${long.id})$`));
  });
});
