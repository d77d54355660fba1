/**
 * The leasing queue on a Redis Cluster of 3 masters (real redis-server processes joined by
 * `redis-keda cluster create`): the programs connect as cluster clients (REDIS_CLUSTER_NODES),
 * refuse a list without a hash tag and refuse Celery; and the chaos test (workers SIGKILLed while
 * publishing and consuming) holds while the queue's slot moves from master to master (raw SETSLOT
 * IMPORTING / MIGRATING, MIGRATE ... KEYS one key at a time, SETSLOT NODE: test/support/slot-move.ts).
 */
import { join } from 'path';
import Redis, { Cluster } from 'ioredis';
import { queueKeys } from '../../runtime/contract';
import { REPO_ROOT, runCli, startCli } from '../support/cli';
import { proof, queueState } from '../support/queue-state';
import { ClusterNodes, startClusterNodes } from '../support/redis-cluster';
import { moveSlot, SlotMove, slotOwner } from '../support/slot-move';
import { Fleet, malformedEvent } from '../support/worker-fleet';

const GOOD = 1200;
const MALFORMED = 20;
const WORKERS = 3;
const CONCURRENCY = 5;
const LEASE_SECONDS = 2;
const KILL_EVERY_MS = 1000;
const HANDLER_MS = 20;
const DEADLINE_MS = 40_000;
const CHAOS_HANDLER = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'chaos-handler.js');

let cluster: ClusterNodes;
let clients: Redis[];
let client: Cluster;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 3 });
  const created = await runCli(['cluster', 'create', '--nodes', cluster.addresses, '--replicas-per-master', '0'], { timeoutMs: 30_000 });
  expect({ code: created.code, stderr: created.code === 0 ? '' : created.stderr }).toEqual({ code: 0, stderr: '' });
  clients = cluster.nodes.map((n) => n.client());
  client = new Cluster(
    cluster.nodes.map(({ host, port }) => ({ host, port })),
    { redisOptions: { protocol: 2, maxRetriesPerRequest: null }, maxRedirections: 64, retryDelayOnTryAgain: 50 },
  );
  env = { REDIS_CLUSTER_NODES: cluster.addresses, REDIS_CONNECT_TIMEOUT: '5' };
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a list without a hash tag, and the Celery programs, are refused on a cluster with a usage error (exit 2)', async () => {
  const untagged = await runCli(['consume', '--once'], { env: { ...env, LIST_NAME: 'events' } });
  expect({ code: untagged.code, msg: untagged.logs.at(-1)?.msg }).toEqual({
    code: 2,
    msg: "usage error: on a Redis Cluster (--redis-cluster-nodes) a queue's keys must share one slot: name the list with a hash tag, e.g. '{events}' instead of 'events'",
  });
  const exporter = await runCli(['queue', 'exporter', '--lists', '{a},b', '--metrics-port', '0'], { env });
  expect({ code: exporter.code, msg: exporter.logs.at(-1)?.msg }).toEqual({
    code: 2,
    msg: "usage error: on a Redis Cluster (--redis-cluster-nodes) a queue's keys must share one slot: name the list with a hash tag, e.g. '{b}' instead of 'b'",
  });
  for (const command of ['celery-worker', 'celery-send']) {
    const refused = await runCli([command], { env });
    expect({ code: refused.code, msg: refused.logs.at(-1)?.msg }).toEqual({
      code: 2,
      msg: `usage error: ${command} cannot run on a Redis Cluster (--redis-cluster-nodes / env REDIS_CLUSTER_NODES): Celery's (kombu's) keys of one queue lie in different slots; give it a single Redis server`,
    });
  }
});

test('publish, consume --once (a Job) and queue stats / dead / purge through the cluster', async () => {
  const list = '{job}';
  const published = await runCli(['publish', '--count', '3', '--wait-min', '0', '--wait-max', '0'], { env: { ...env, LIST_NAME: list } });
  expect(published.code).toBe(0);
  await client.lpush(list, 'not json');
  // The oldest event is consumed first; the malformed one, pushed last, is the newest.
  for (let i = 0; i < 4; i++) {
    const once = await runCli(['consume', '--once', '--handler', CHAOS_HANDLER], { env: { ...env, LIST_NAME: list, PROOF_KEY: `${list}:processed` } });
    expect(once.code).toBe(0);
  }
  expect(Object.values(await proof(client, `${list}:processed`))).toEqual([1, 1, 1]);
  const stats = await runCli(['queue', 'stats'], { env: { ...env, LIST_NAME: list } });
  expect({ code: stats.code, stats: JSON.parse(stats.stdout) }).toEqual({ code: 0, stats: { list, ready: 0, inflight: 0, delayed: 0, dead: 1 } });
  const purged = await runCli(['queue', 'purge', '--all', '--yes'], { env: { ...env, LIST_NAME: list } });
  expect(purged.code).toBe(0);
  expect(await client.exists(...Object.values(queueKeys(list)))).toBe(0);
});

test(
  `${GOOD + MALFORMED} events, ${WORKERS} workers, one SIGKILLed every ${KILL_EVERY_MS} ms, while the queue's slot moves between the 3 masters: nothing lost`,
  async () => {
    const list = '{chaos}';
    const proofKey = `${list}:processed`;
    const slot = Number(await clients[0].call('CLUSTER', 'KEYSLOT', list));
    const started = Date.now();
    const fleet = new Fleet(
      () =>
        startCli(['consume', '--concurrency', String(CONCURRENCY), '--lease', String(LEASE_SECONDS), '--metrics-port', '0', '--handler', CHAOS_HANDLER], {
          env: { ...env, LIST_NAME: list, PROOF_KEY: proofKey, CHAOS_SLEEP_MS: String(HANDLER_MS) },
        }),
      WORKERS,
    );
    const stopKilling = fleet.killEvery(KILL_EVERY_MS);
    let chaos = true;
    // The slot goes round the masters, one key per MIGRATE, until the fleet is through.
    const moves: SlotMove[] = [];
    const mover = (async () => {
      const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
      while (chaos) {
        const owner = ids.indexOf(await slotOwner(clients[0], slot));
        moves.push(await moveSlot(clients, slot, (owner + 1) % clients.length));
        await sleep(300);
      }
    })();
    try {
      const publisher = startCli(['publish', '--count', String(GOOD), '--batch', '40', '--interval', '0.05', '--wait-min', '0', '--wait-max', '0'], {
        env: { ...env, LIST_NAME: list },
      });
      const malformed = Array.from({ length: MALFORMED }, (_, i) => malformedEvent(i));
      for (const raw of malformed) {
        await sleep(60);
        await client.lpush(list, raw);
      }
      expect((await publisher.done).code).toBe(0);
      await until(async () => {
        const [processed, stats] = await Promise.all([
          client.hlen(proofKey),
          client.multi().llen(list).zcard(`${list}:inflight`).zcard(`${list}:delayed`).llen(`${list}:dead`).exec(),
        ]);
        const [ready, inflight, delayed, dead] = (stats ?? []).map(([, n]) => Number(n));
        return processed === GOOD && ready === 0 && inflight === 0 && delayed === 0 && dead === MALFORMED;
      }, started);
      chaos = false;
      await Promise.all([stopKilling(), mover]);
      const stopped = await fleet.stop();

      const counts = await proof(client, proofKey);
      expect(Object.keys(counts)).toHaveLength(GOOD);
      const state = await queueState(client, list);
      expect(state.dead.map((d) => d.event).sort()).toEqual([...malformed].sort());
      expect(state).toMatchObject({ ready: [], inflight: [], inflightEvents: {}, delayed: [], delayedEvents: {}, deliveries: {}, failures: {} });
      expect(fleet.killed.map((r) => r.signal)).toEqual(fleet.killed.map(() => 'SIGKILL'));
      expect(stopped.map((r) => r.code)).toEqual(stopped.map(() => 0));
      // The slot really moved, more than once, with the queue's keys in it.
      expect(moves.length).toBeGreaterThanOrEqual(2);
      expect(moves.filter((m) => m.keys > 0).length).toBeGreaterThanOrEqual(2);
      const runs = Object.values(counts);
      const summary = {
        good: GOOD,
        malformed: MALFORMED,
        kills: fleet.killed.length,
        slotMoves: moves.length,
        keysMoved: moves.reduce((a, m) => a + m.keys, 0),
        duplicates: runs.reduce((a, b) => a + b - 1, 0),
        mostRunsOfOneEvent: Math.max(...runs),
        seconds: (Date.now() - started) / 1000,
      };
      console.log(`cluster chaos summary ${JSON.stringify(summary)}`);
    } catch (error) {
      const problems = fleet.all.flatMap((w) => w.logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => `${l.msg} ${String(l.error ?? '')}`));
      console.log(
        `cluster chaos state ${JSON.stringify({ processed: await client.hlen(proofKey), stats: await client.multi().llen(list).zcard(`${list}:inflight`).zcard(`${list}:delayed`).llen(`${list}:dead`).exec(), moves, problems: [...new Set(problems)].slice(0, 20) })}`,
      );
      throw error;
    } finally {
      chaos = false;
      await stopKilling().catch(() => undefined);
      await mover.catch(() => undefined);
      for (const worker of fleet.all) worker.child.kill('SIGKILL');
    }
  },
  DEADLINE_MS + 30_000,
);

async function until(condition: () => Promise<boolean>, started: number): Promise<void> {
  while (!(await condition().catch(() => false))) {
    if (Date.now() - started > DEADLINE_MS) throw new Error(`cluster chaos: timed out after ${DEADLINE_MS} ms waiting for every event to be handled or dead-lettered`);
    await sleep(100);
  }
}
