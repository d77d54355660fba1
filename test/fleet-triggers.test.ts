/**
 * The two halves agree: the keys the worker-fleet chart's KEDA triggers name are the keys the
 * runtime really writes, of a type KEDA's redis scaler counts, holding the work it should see.
 */
import { Testing } from 'cdk8s';
import Redis from 'ioredis';
import { buildApp } from '../main';
import { runConsumer } from '../runtime';
import { withRedis } from './support/redis-fixture';

/** What KEDA's redis scaler reads for a key (its Lua counts a list, zset, set or hash; else 0). */
async function kedaCount(redis: Redis, key: string): Promise<number> {
  switch (await redis.type(key)) {
    case 'list': return redis.llen(key);
    case 'zset': return redis.zcard(key);
    case 'set': return redis.scard(key);
    case 'hash': return redis.hlen(key);
    case 'none': return 0;
    default: throw new Error(`KEDA cannot count key ${key}`);
  }
}

describe('worker-fleet triggers against the runtime', () => {
  let redis: Redis;
  withRedis((_server, client) => { redis = client; });

  test('ready, in-flight and delayed work each show up in exactly one trigger', async () => {
    const chart = buildApp(Testing.app()).charts.find((c) => c.node.id === 'worker-fleet')!;
    const so = (Testing.synth(chart) as any[]).find((d) => d.kind === 'ScaledObject');
    const keyOf = Object.fromEntries(so.spec.triggers.map((t: any) => [t.name, t.metadata.listName])) as Record<string, string>;
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
    const held = new Promise<void>((r) => { release = r; });
    const stop = new AbortController();
    const client = redis.duplicate();
    const consumer = runConsumer({
      redis: client, list, concurrency: 4, backoffSeconds: 60, graceSeconds: 5, signal: stop.signal, blockingWait: false,
      handler: async (event) => {
        if (event.id === 'fail') throw new Error('try again later');
        await held;
      },
    });
    try {
      let counts: Record<string, number> = {};
      for (let i = 0; i < 100; i++) {
        counts = Object.fromEntries(await Promise.all(Object.entries(keyOf).map(async ([n, k]) => [n, await kedaCount(redis, k)])));
        if (counts.inflight === 4 && counts.delayed === 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
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
