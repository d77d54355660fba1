/**
 * The leasing queue on a Redis Cluster of 3 masters (real redis-server processes joined by
 * `redis-keda cluster create`): the programs connect as cluster clients (REDIS_CLUSTER_NODES),
 * refuse a list without a hash tag and refuse Celery; and the chaos test (workers SIGKILLed while
 * publishing and consuming) holds while `redis-keda cluster scale` grows the cluster to 4 masters
 * and back to 3, each rebalance moving the queue's slot (to the new master, then away from it
 * before it is drained and removed).
 */
import { join } from 'path';
import Redis, { Cluster } from 'ioredis';
import { planRebalance } from '../../runtime/cluster/rebalance-plan';
import { queueKeys } from '../../runtime/contract';
import { REPO_ROOT, runCli, startCli } from '../support/cli';
import { proof, queueState } from '../support/queue-state';
import { ClusterNodes, createCluster, startClusterNodes } from '../support/redis-cluster';
import { Fleet, malformedEvent } from '../support/worker-fleet';

const GOOD = 1200;
const MALFORMED = 20;
const WORKERS = 3;
const CONCURRENCY = 5;
const LEASE_SECONDS = 2;
const KILL_EVERY_MS = 1000;
const HANDLER_MS = 20;
const DEADLINE_MS = 45_000;
/** How near a move of the queue's slot (either side, in ms) the queue must have held events waiting or in flight. */
const MOVE_WINDOW_MS = 500;
/** 1,200 events in batches of 10 every 0.15 s: about 18 s of publishing, long enough for both scales to move the slot meanwhile. */
const PUBLISH_BATCH = 10;
const PUBLISH_INTERVAL_S = 0.15;
const CHAOS_HANDLER = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'chaos-handler.js');

let cluster: ClusterNodes;
/** The 3 masters `create` made (`--nodes` of the programs); the 4th node joins and leaves during the chaos test. */
let members: string;
let clients: Redis[];
let client: Cluster;
let env: Record<string, string>;

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 4 });
  members = cluster.nodes
    .slice(0, 3)
    .map((n) => n.address)
    .join(',');
  await createCluster(cluster, { members });
  clients = cluster.nodes.map((n) => n.client());
  client = new Cluster(
    cluster.nodes.slice(0, 3).map(({ host, port }) => ({ host, port })),
    { redisOptions: { protocol: 2, maxRetriesPerRequest: null }, maxRedirections: 64, retryDelayOnTryAgain: 50 },
  );
  env = { REDIS_CLUSTER_NODES: members, REDIS_CONNECT_TIMEOUT: '5' };
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The id of the master serving `slot`, as node 0 sees it. */
async function slotOwner(slot: number): Promise<string> {
  const ranges = (await clients[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const range = ranges.find(([start, end]) => start <= slot && slot <= end);
  if (!range) throw new Error(`slot ${slot} is not served`);
  return range[2][2];
}

/**
 * A hash-tagged list whose slot the rebalance onto a 4th, empty master moves (each master gives its highest
 * slots above its share away), taken from the plan of the cluster as it is; the test then checks the owner.
 */
async function listMovedByGrowth(): Promise<{ list: string; slot: number }> {
  const ranges = (await clients[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const byMaster = new Map<string, { start: number; end: number }[]>();
  for (const [start, end, [, , id]] of ranges) byMaster.set(id, [...(byMaster.get(id) ?? []), { start, end }]);
  const moving = new Set(planRebalance([...[...byMaster].map(([id, slots]) => ({ id, slots })), { id: 'new', slots: [] }]).map((m) => m.slot));
  for (let i = 0; ; i++) {
    const list = `{chaos-${i}}`;
    const slot = Number(await clients[0].call('CLUSTER', 'KEYSLOT', list));
    if (moving.has(slot)) return { list, slot };
  }
}

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
  `${GOOD + MALFORMED} events, ${WORKERS} workers, one SIGKILLed every ${KILL_EVERY_MS} ms, while cluster scale grows 3 masters to 4 and back, moving the queue's slot each time: nothing lost`,
  async () => {
    const { list, slot } = await listMovedByGrowth();
    const proofKey = `${list}:processed`;
    const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
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
    // Every change of the slot's owner (an index of the nodes), when it was seen and whether the publisher still ran; and the
    // queue's work (ready + in flight) sampled all along, to tell whether events waited or were held around each move.
    const owners: { owner: number; publishing: boolean; processed: number; atMs: number }[] = [
      { owner: ids.indexOf(await slotOwner(slot)), publishing: true, processed: 0, atMs: 0 },
    ];
    const pendingSamples: { atMs: number; pending: number }[] = [];
    let publishing = true;
    const watcher = (async () => {
      while (chaos) {
        const owner = ids.indexOf(await slotOwner(slot).catch(() => ids[owners[owners.length - 1].owner]));
        if (owner !== owners[owners.length - 1].owner) owners.push({ owner, publishing, processed: await client.hlen(proofKey), atMs: Date.now() - started });
        const pending = await Promise.all([client.llen(list), client.zcard(`${list}:inflight`)]).catch(() => undefined);
        if (pending) pendingSamples.push({ atMs: Date.now() - started, pending: pending[0] + pending[1] });
        await sleep(20);
      }
    })();
    // The most events waiting or held within MOVE_WINDOW_MS of a move (the queue is mostly drained at any one instant: the
    // workers outpace the publisher's batches, so a single sample at the move says little).
    const pendingAround = (atMs: number) => Math.max(0, ...pendingSamples.filter((p) => Math.abs(p.atMs - atMs) <= MOVE_WINDOW_MS).map((p) => p.pending));
    const scale = (nodes: string) =>
      runCli(['cluster', 'scale', '--nodes', nodes, '--replicas-per-master', '0', '--timeout', '30'], { timeoutMs: 60_000 }).then((r) => {
        if (r.code !== 0) throw new Error(`cluster scale --nodes ${nodes} exited ${r.code}: ${r.stderr}`);
        return JSON.parse(r.stdout) as { joined: string[]; removed: string[]; report: { ok: boolean; masters: unknown[] } };
      });
    const scales: Awaited<ReturnType<typeof scale>>[] = [];
    let mover: Promise<void> = Promise.resolve();
    try {
      const publisher = startCli(
        ['publish', '--count', String(GOOD), '--batch', String(PUBLISH_BATCH), '--interval', String(PUBLISH_INTERVAL_S), '--wait-min', '0', '--wait-max', '0'],
        {
          env: { ...env, LIST_NAME: list },
        },
      );
      void publisher.done.then(() => (publishing = false));
      // While events flow: grow to 4 masters (the 4th joins empty, the rebalance moves the queue's slot onto it), then back to 3
      // (the 4th is drained, the queue's slot with the rest, then forgotten and reset).
      mover = (async () => {
        await until(async () => (await client.hlen(proofKey)) >= 50, started);
        scales.push(await scale(cluster.addresses));
        scales.push(await scale(members));
      })();
      const malformed = Array.from({ length: MALFORMED }, (_, i) => malformedEvent(i));
      for (const raw of malformed) {
        await sleep(60);
        await client.lpush(list, raw);
      }
      expect((await publisher.done).code).toBe(0);
      await mover;
      await until(async () => {
        const [processed, stats] = await Promise.all([
          client.hlen(proofKey),
          client.multi().llen(list).zcard(`${list}:inflight`).zcard(`${list}:delayed`).llen(`${list}:dead`).exec(),
        ]);
        const [ready, inflight, delayed, dead] = (stats ?? []).map(([, n]) => Number(n));
        return processed === GOOD && ready === 0 && inflight === 0 && delayed === 0 && dead === MALFORMED;
      }, started);
      chaos = false;
      await Promise.all([stopKilling(), watcher]);
      const stopped = await fleet.stop();

      const counts = await proof(client, proofKey);
      expect(Object.keys(counts)).toHaveLength(GOOD);
      const state = await queueState(client, list);
      expect(state.dead.map((d) => d.event).sort()).toEqual([...malformed].sort());
      expect(state).toMatchObject({ ready: [], inflight: [], inflightEvents: {}, delayed: [], delayedEvents: {}, deliveries: {}, failures: {} });
      // Every worker ended by the kill, none on its own (one that exits while starting would show here, with its stderr)
      expect(fleet.killed.filter((r) => r.signal !== 'SIGKILL').map((r) => ({ code: r.code, stderr: r.stderr.slice(-2000) }))).toEqual([]);
      expect(stopped.map((r) => r.code)).toEqual(stopped.map(() => 0));
      // Both scales did what they say, and the queue's slot went to the 4th master and away from it again, each time while
      // the publisher still ran and events waited or were held.
      expect(scales.map((r) => ({ joined: r.joined, removed: r.removed, ok: r.report.ok, masters: r.report.masters.length }))).toEqual([
        { joined: [cluster.nodes[3].address], removed: [], ok: true, masters: 4 },
        { joined: [], removed: [cluster.nodes[3].address], ok: true, masters: 3 },
      ]);
      expect(owners.map((o) => o.owner === 3)).toEqual([false, true, false]);
      expect(owners.slice(1).map((o) => o.publishing)).toEqual([true, true]);
      expect(owners.slice(1).map((o) => pendingAround(o.atMs) > 0)).toEqual([true, true]);
      const runs = Object.values(counts);
      const summary = {
        good: GOOD,
        malformed: MALFORMED,
        kills: fleet.killed.length,
        slot,
        owners: owners.map((o) => ({ ...o, pendingAround: pendingAround(o.atMs) })),
        duplicates: runs.reduce((a, b) => a + b - 1, 0),
        mostRunsOfOneEvent: Math.max(...runs),
        seconds: (Date.now() - started) / 1000,
      };
      console.log(`cluster chaos summary ${JSON.stringify(summary)}`);
    } catch (error) {
      console.log(
        `cluster chaos workers ${JSON.stringify(fleet.all.slice(-6).map((w) => ({ exit: w.child.exitCode ?? w.child.signalCode, last: w.logs.slice(-6).map((l) => `${l.time.slice(17)} ${l.level} ${l.msg} ${String(l.error ?? '')}`) })))}`,
      );
      const problems = fleet.all.flatMap((w) => w.logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => `${l.msg} ${String(l.error ?? '')}`));
      console.log(
        `cluster chaos state ${JSON.stringify({ processed: await client.hlen(proofKey), stats: await client.multi().llen(list).zcard(`${list}:inflight`).zcard(`${list}:delayed`).llen(`${list}:dead`).exec(), owners: owners.map((o) => ({ ...o, pendingAround: pendingAround(o.atMs) })), scales, problems: [...new Set(problems)].slice(0, 20) })}`,
      );
      throw error;
    } finally {
      chaos = false;
      await stopKilling().catch(() => undefined);
      await watcher.catch(() => undefined);
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
