/**
 * `redis-keda cluster scale` and `rebalance` in address mode, run as a Job runs them (a child process), on
 * real redis-server processes: 3 masters + 3 replicas grown to 5 + 5 and back to 3 + 3 while a writer INCRs
 * keys through a cluster client; then the tool SIGKILLed in the middle of a slot with many keys, and `fix`
 * and a rerun converging. After each step `check` passes, every key has its value, no acknowledged write is lost.
 */
import Redis, { Cluster } from 'ioredis';
import { SlotMove } from '../../../runtime/cluster/migrate';
import { planRebalance } from '../../../runtime/cluster/rebalance-plan';
import { runCli, startCli } from '../../support/cli';
import { startIncrWriter } from '../../support/cluster-writer';
import { ClusterNodes, createCluster, startClusterNodes } from '../../support/redis-cluster';

let cluster: ClusterNodes;
let client: Cluster;
/** Node i's address. */
const at = (i: number) => cluster.nodes[i].address;
const list = (indexes: number[]) => indexes.map(at).join(',');

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 10 });
  await createCluster(cluster, { members: list([0, 1, 2, 3, 4, 5]), replicasPerMaster: 1, timeoutMs: 60_000 });
  client = new Cluster([{ host: cluster.nodes[0].host, port: cluster.nodes[0].port }], { redisOptions: { maxRetriesPerRequest: 3 }, retryDelayOnMoved: 10 });
  await writeKeys('k', 2000);
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

const clusterCli = (args: string[], nodes: number[]) => runCli(['cluster', ...args, '--nodes', list(nodes)], { env: { REDIS_CONNECT_TIMEOUT: '2' }, timeoutMs: 120_000 });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

async function writeKeys(prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const replies = await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => client.set(`${prefix}${i + j}`, `v${i + j}`)));
    expect(new Set(replies)).toEqual(new Set(['OK']));
  }
}

/** Keys of `prefix` whose value is not what writeKeys wrote. */
async function wrongKeys(prefix: string, count: number): Promise<string[]> {
  const wrong: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const keys = Array.from({ length: Math.min(500, count - i) }, (_, j) => `${prefix}${i + j}`);
    const values = await Promise.all(keys.map((k) => client.get(k)));
    keys.forEach((k, j) => values[j] !== `v${i + j}` && wrong.push(k));
  }
  return wrong;
}

async function expectCheckOk(nodes: number[], masters: number) {
  const check = await clusterCli(['check'], nodes);
  const report = json(check.stdout) as { ok: boolean; slots: { covered: number }; masters: { slots: number; replicas: string[] }[]; problems: unknown[] };
  expect({ code: check.code, ok: report.ok, problems: report.problems, covered: report.slots.covered }).toEqual({ code: 0, ok: true, problems: [], covered: 16384 });
  expect(report.masters.map((m) => [m.replicas.length, Math.abs(m.slots - 16384 / masters) < 1])).toEqual(Array.from({ length: masters }, () => [1, true]));
}

test('scale 3+3 to 5+5 and back to 3+3 under a concurrent writer: check passes after each, every key kept, no acknowledged write lost', async () => {
  const writer = startIncrWriter(client);
  // WHEN grown to 10 nodes
  const up = await clusterCli(['scale'], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // THEN
  expect({ code: up.code, stderr: up.code === 0 ? '' : up.stderr }).toEqual({ code: 0, stderr: '' });
  const grown = json(up.stdout) as { joined: string[]; removed: string[]; actions: { action: string; node: string; master?: string }[]; rebalance: { moves: { count: number }[] } };
  expect(grown.joined).toEqual([6, 7, 8, 9].map(at));
  expect(grown.removed).toEqual([]);
  // Replicas first (onto the new masters 6 and 7), then the slots: 2/5 of them.
  expect(grown.actions).toEqual([
    ...[6, 7, 8, 9].map((i) => ({ action: 'meet', node: at(i), via: at(0) })),
    { action: 'replicate', node: at(8), master: at(6) },
    { action: 'replicate', node: at(9), master: at(7) },
  ]);
  expect(grown.rebalance.moves.reduce((n, m) => n + m.count, 0)).toBe(6553);
  await expectCheckOk([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5);
  expect(await wrongKeys('k', 2000)).toEqual([]);

  // WHEN shrunk back to the first 6
  const down = await clusterCli(['scale'], [0, 1, 2, 3, 4, 5]);
  // THEN
  expect({ code: down.code, stderr: down.code === 0 ? '' : down.stderr }).toEqual({ code: 0, stderr: '' });
  const shrunk = json(down.stdout) as { joined: string[]; removed: string[]; actions: { action: string; node: string }[] };
  expect(shrunk.joined).toEqual([]);
  expect([...shrunk.removed].sort()).toEqual([6, 7, 8, 9].map(at).sort());
  expect(
    shrunk.actions
      .filter((a) => a.action === 'reset')
      .map((a) => a.node)
      .sort(),
  ).toEqual([6, 7, 8, 9].map(at).sort());
  await expectCheckOk([0, 1, 2, 3, 4, 5], 3);
  expect(await wrongKeys('k', 2000)).toEqual([]);
  // The removed nodes know only themselves and hold nothing.
  for (const i of [6, 7, 8, 9]) {
    const redis = cluster.nodes[i].client();
    try {
      expect([((await redis.call('CLUSTER', 'NODES')) as string).trim().split('\n').length, await redis.dbsize()]).toEqual([1, 0]);
    } finally {
      redis.disconnect();
    }
  }
  const written = await writer.stop();
  expect(written.lost).toEqual([]);
  expect(written.writes).toBeGreaterThan(100);
  expect(written.failed).toBe(0);
  // A rerun changes nothing.
  const rerun = await clusterCli(['scale'], [0, 1, 2, 3, 4, 5]);
  expect(rerun.code).toBe(0);
  expect(json(rerun.stdout)).toMatchObject({ changed: false, joined: [], removed: [], actions: [], rebalance: { finished: [], moves: [], keys: 0 } });
}, 180_000);

test('scale SIGKILLed in the middle of a slot with many keys: check names the open slot, fix finishes it, a rerun of scale converges; no key lost', async () => {
  // GIVEN a slot that growing to 5 masters moves, holding 5000 keys
  const before = json((await clusterCli(['check'], [0, 1, 2, 3, 4, 5])).stdout) as { masters: { node: string; ranges: string[] }[] };
  const moves: SlotMove[] = planRebalance([
    ...before.masters.map((m) => ({ id: m.node, slots: m.ranges.map((r) => ({ start: Number(r.split('-')[0]), end: Number(r.split('-')[1] ?? r) })) })),
    { id: 'new-1', slots: [] },
    { id: 'new-2', slots: [] },
  ]);
  const big = moves[0].slot;
  const tag = await tagOfSlot(big);
  const bigKeys = 5_000;
  await writeKeys(`{${tag}}:`, bigKeys);
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // WHEN scale runs with small batches and is killed while it moves the big slot
  const running = startCli(['cluster', 'scale', '--nodes', list(all), '--migrate-keys', '100', '--migrate-pipeline', '1']);
  await running.waitForLog((l) => l.msg === 'moving keys' && (l.slots as string[]).includes(String(big)) && Number(l.movedSoFar) > 0, 90_000);
  running.child.kill('SIGKILL');
  await running.done;
  // THEN check names the slot as open on both ends
  const check = await clusterCli(['check'], all);
  const report = json(check.stdout) as { problems: { problem: string; slot?: number; state?: string }[] };
  expect(check.code).toBe(1);
  expect(
    report.problems
      .filter((p) => p.problem === 'open-slot' && p.slot === big)
      .map((p) => p.state)
      .sort(),
  ).toEqual(['importing', 'migrating']);
  // AND fix finishes it (the importing side holds keys already): check passes
  const fix = await clusterCli(['fix'], all);
  expect({ code: fix.code, stderr: fix.code === 0 ? '' : fix.stderr }).toEqual({ code: 0, stderr: '' });
  const fixed = json(fix.stdout) as { actions: { action: string; slot?: number }[] };
  expect(fixed.actions.filter((a) => a.action === 'finish-migration').map((a) => a.slot)).toContain(big);
  expect(await wrongKeys(`{${tag}}:`, bigKeys)).toEqual([]);
  // AND a rerun of scale converges: 5 masters with their share and a replica each
  const rerun = await clusterCli(['scale'], all);
  expect({ code: rerun.code, stderr: rerun.code === 0 ? '' : rerun.stderr }).toEqual({ code: 0, stderr: '' });
  await expectCheckOk(all, 5);
  expect(await wrongKeys(`{${tag}}:`, bigKeys)).toEqual([]);
  expect(await wrongKeys('k', 2000)).toEqual([]);
}, 180_000);

test('rebalance where a slot is disputed for good (its master gave it away by SETSLOT NODE alone, as a scale-down once left it): the wait for agreement settles it; check passes, no key lost', async () => {
  // GIVEN a master's last slot holding no key, given by that master to another master that never claims it
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const before = json((await clusterCli(['check'], all)).stdout) as { masters: { node: string; id: string; ranges: string[] }[] };
  const [owner, other] = before.masters;
  const ownerNode = cluster.nodes.find((n) => n.address === owner.node) as (typeof cluster.nodes)[number];
  const redis = ownerNode.client();
  let slot = Number(owner.ranges.at(-1)?.split('-').at(-1));
  try {
    while (((await redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) as number) > 0) slot--;
    expect(await redis.call('CLUSTER', 'SETSLOT', slot, 'NODE', other.id)).toBe('OK');
  } finally {
    redis.disconnect();
  }
  const disputed = json((await clusterCli(['check'], all)).stdout) as { problems: { problem: string; slots?: string[] }[] };
  expect(disputed.problems.map((p) => [p.problem, p.slots])).toEqual([['slots-disagree', [String(slot)]]]);
  // WHEN
  const rebalance = await clusterCli(['rebalance'], all);
  // THEN after 5 s of the dispute the slot goes back to the master most masters name, and the wait ends
  expect({ code: rebalance.code, stderr: rebalance.code === 0 ? '' : rebalance.stderr }).toEqual({ code: 0, stderr: '' });
  const settled = rebalance.logs.filter((l) => l.msg === 'set the master of slots the nodes disagreed on');
  expect(settled.map((l) => [l.node, l.slots, l.reason])).toEqual([[owner.node, [String(slot)], 'named by most masters']]);
  await expectCheckOk(all, 5);
  expect(await wrongKeys('k', 2000)).toEqual([]);
}, 120_000);

/** A hash tag whose keys hash to `slot`. */
async function tagOfSlot(slot: number): Promise<string> {
  const redis: Redis = cluster.nodes[0].client();
  try {
    for (let base = 0; base < 200_000; base += 5000) {
      const pipeline = redis.pipeline();
      for (let i = base; i < base + 5000; i++) pipeline.call('CLUSTER', 'KEYSLOT', `t${i}`);
      const slots = ((await pipeline.exec()) ?? []).map(([, s]) => s);
      const found = slots.indexOf(slot);
      if (found >= 0) return `t${base + found}`;
    }
  } finally {
    redis.disconnect();
  }
  throw new Error(`no tag for slot ${slot}`);
}

test('usage errors, before anything connects: a membership that does not split into masters and replicas, malformed weights', async () => {
  const scale = await runCli(['cluster', 'scale', '--nodes', list([0, 1, 2, 3, 4])]);
  expect([scale.code, scale.logs.at(-1)?.msg]).toEqual([2, 'usage error: cluster scale needs a multiple of 2 nodes (1 master + 1 replicas), at least 6; --nodes lists 5']);
  const weights = await runCli(['cluster', 'rebalance', '--nodes', list([0, 1, 2]), '--weights', `${at(0)}=-1`]);
  expect([weights.code, weights.logs.at(-1)?.msg]).toEqual([
    2,
    `usage error: --weights (or env CLUSTER_WEIGHTS) must be host:port=weight entries (weight a number of at least 0), got '${at(0)}=-1'`,
  ]);
}, 30_000);
