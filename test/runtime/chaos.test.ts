/**
 * Chaos: 5,000 events — 4,950 published with the CLI, 50 malformed ones pushed in between —
 * through a fleet of 4 loop-mode workers while one of them is SIGKILLed every 300 ms and
 * restarted, and Redis (AOF, fsync every second) is shut down and started again mid-run.
 *
 * The handler's evidence is HINCRBY <list>:processed <id> 1. At the end: every good event was
 * handled at least once (none lost), exactly the malformed events are in <list>:dead, nothing is
 * ready, in flight or delayed, no counter is left. Delivery is at least once, so duplicates
 * (events handled again because their worker died before the ack landed) are counted and
 * printed, not failed.
 */
import { join } from 'path';
import Redis from 'ioredis';
import { queueKeys } from '../../runtime/contract';
import { REPO_ROOT, startCli } from '../support/cli';
import { Fleet, malformedEvent } from '../support/worker-fleet';
import { proof, queueState } from '../support/queue-state';
import { RedisServer, startRedis } from '../support/redis-server';

const GOOD = 4950;
const MALFORMED = 50;
const WORKERS = 4;
const CONCURRENCY = 5;
const LEASE_SECONDS = 2;
const KILL_EVERY_MS = 300;
/** Handler work per event: workers hold events when they are killed. */
const HANDLER_MS = 40;
/** Redis stays down this long. */
const REDIS_DOWN_MS = 500;
const DEADLINE_MS = 75_000;

const CHAOS_HANDLER = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'chaos-handler.js');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis({ appendonly: true });
  redis = new Redis(server.url, { protocol: 2, maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // the restart is on purpose
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  `${GOOD + MALFORMED} events, ${WORKERS} workers, one SIGKILLed every ${KILL_EVERY_MS} ms, a Redis restart: nothing lost, only the malformed dead-lettered`,
  async () => {
    const list = 'chaos';
    const proofKey = `${list}:processed`;
    const started = Date.now();
    const fleet = new Fleet(
      () =>
        startCli(['consume', '--concurrency', String(CONCURRENCY), '--lease', String(LEASE_SECONDS), '--metrics-port', '0', '--handler', CHAOS_HANDLER], {
          env: { REDIS_URL: server.url, LIST_NAME: list, PROOF_KEY: proofKey, CHAOS_SLEEP_MS: String(HANDLER_MS) },
        }),
      WORKERS,
    );

    // Chaos: a worker killed and replaced every KILL_EVERY_MS until the end.
    const stopKilling = fleet.killEvery(KILL_EVERY_MS);

    try {
      // WHEN the events arrive: published with the CLI, malformed ones pushed in between
      const publisher = startCli(['publish', '--count', String(GOOD), '--batch', '50', '--interval', '0.03', '--wait-min', '0', '--wait-max', '0'], {
        env: { REDIS_URL: server.url, LIST_NAME: list },
      });
      const malformed = Array.from({ length: MALFORMED }, (_, i) => malformedEvent(i));
      for (const raw of malformed) {
        await sleep(50);
        await redis.lpush(list, raw);
      }
      expect((await publisher.done).code).toBe(0);

      // AND Redis restarts (SHUTDOWN: AOF synced) once a good part is done
      await until(async () => (await redis.hlen(proofKey)) >= GOOD * 0.4, 'processing to get under way', started);
      const down = Date.now();
      await server.shutdown();
      await sleep(REDIS_DOWN_MS);
      await server.start();
      const redisDownMs = Date.now() - down;

      // THEN the fleet gets through everything
      await until(
        async () => {
          const [processed, stats] = await Promise.all([
            redis.hlen(proofKey),
            redis.multi().llen(list).zcard(`${list}:inflight`).zcard(`${list}:delayed`).llen(`${list}:dead`).exec(),
          ]);
          const [ready, inflight, delayed, dead] = (stats ?? []).map(([, n]) => Number(n));
          return processed === GOOD && ready === 0 && inflight === 0 && delayed === 0 && dead === MALFORMED;
        },
        'every event to be handled or dead-lettered',
        started,
      );
      await stopKilling();
      const stopped = await fleet.stop();
      const seconds = (Date.now() - started) / 1000;

      // Every good event handled at least once: the publisher's ids are unique, so GOOD distinct ids means none lost.
      const counts = await proof(redis, proofKey);
      const ids = Object.keys(counts);
      expect(ids).toHaveLength(GOOD);
      expect(ids.filter((id) => !UUID.test(id))).toEqual([]);
      // Exactly the malformed events dead-lettered, as they were; nothing else anywhere; no counter left.
      const state = await queueState(redis, list);
      expect(state.dead.map((d) => d.event).sort()).toEqual([...malformed].sort());
      expect(new Set(state.dead.map((d) => d.reason))).toEqual(new Set(['malformed']));
      expect(state).toMatchObject({ ready: [], inflight: [], inflightEvents: {}, delayed: [], delayedEvents: {}, deliveries: {}, failures: {} });
      expect(await redis.exists(queueKeys(list).inflightEvents, queueKeys(list).delayedEvents)).toBe(0);
      // Every worker either was killed by us or stopped cleanly on SIGTERM.
      expect(fleet.killed.map((r) => r.signal)).toEqual(fleet.killed.map(() => 'SIGKILL'));
      expect(stopped.map((r) => r.code)).toEqual(stopped.map(() => 0));
      // Workers log each processed event's id (a killed worker may lose its last tick of lines).
      const logged = new Set(fleet.all.flatMap((w) => w.logs.filter((l) => l.msg === 'event processed').map((l) => l.eventId as string)));
      expect([...logged].filter((id) => !(id in counts))).toEqual([]);
      // A lower bound: how many lines the killed workers lost depends on when they were killed.
      expect(logged.size).toBeGreaterThanOrEqual(GOOD * 0.95);

      const runs = Object.values(counts);
      const summary = {
        events: GOOD + MALFORMED,
        good: GOOD,
        malformed: MALFORMED,
        workers: WORKERS,
        concurrency: CONCURRENCY,
        leaseSeconds: LEASE_SECONDS,
        kills: fleet.killed.length,
        workerStarts: fleet.all.length,
        redisRestarts: 1,
        redisDownMs,
        handlerRuns: runs.reduce((a, b) => a + b, 0),
        duplicates: runs.reduce((a, b) => a + b - 1, 0),
        eventsHandledMoreThanOnce: runs.filter((n) => n > 1).length,
        mostRunsOfOneEvent: Math.max(...runs),
        requeuedByReapers: fleet.all
          .flatMap((w) => w.logs)
          .filter((l) => l.msg === 'requeued events whose lease ran out')
          .reduce((a, l) => a + Number(l.requeued), 0),
        loggedProcessedIds: logged.size,
        seconds,
      };
      console.log(`chaos summary ${JSON.stringify(summary)}`);
    } finally {
      await stopKilling().catch(() => undefined);
      for (const worker of fleet.all) worker.child.kill('SIGKILL');
    }
  },
  DEADLINE_MS + 30_000,
);

/** Polls `condition` (Redis errors while it restarts count as not yet) until it holds or the test's deadline passes. */
async function until(condition: () => Promise<boolean>, what: string, started: number): Promise<void> {
  while (!(await condition().catch(() => false))) {
    if (Date.now() - started > DEADLINE_MS) throw new Error(`chaos: timed out after ${DEADLINE_MS} ms waiting for ${what}`);
    await sleep(100);
  }
}
