/**
 * `redis-keda cluster create|check` in address mode, run as a Job runs them (a child process
 * configured by env and flags), on six real redis-server processes in cluster mode on one host.
 */
import type Redis from 'ioredis';
import { parseClusterNodes } from '../../../runtime/cluster/topology';
import { runCli, waitFor } from '../../support/cli';
import { ClusterNodes, startClusterNodes } from '../../support/redis-cluster';

let cluster: ClusterNodes;
let clients: Redis[];
let ids: string[];
/** Addresses of node i. */
let at: (i: number) => string;

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 6 });
  clients = cluster.nodes.map((n) => n.client());
  ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
  at = (i) => cluster.nodes[i].address;
}, 60_000);

afterAll(async () => {
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
});

/** A short connect timeout: check reports a killed node after it, instead of the default 10 s. */
const clusterCli = (args: string[], env: Record<string, string> = {}) =>
  runCli(['cluster', ...args], { env: { CLUSTER_NODES: cluster.addresses, REDIS_CONNECT_TIMEOUT: '2', ...env }, timeoutMs: 100_000 });

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

const ONE_HOST_WARNING = () => ({
  warning: 'replica-on-master-host',
  hosts: 1,
  avoidable: false,
  pairs: [
    { master: at(0), replica: at(3) },
    { master: at(1), replica: at(4) },
    { master: at(2), replica: at(5) },
  ],
  message: '3 of 3 replicas share a host with their master (losing that host loses the shard); every node is on one host, so no placement avoids it',
});

/** The report of the cluster as create made it: nodes 0-2 masters, node i+3 the replica of node i. */
const createdReport = () => ({
  ok: true,
  nodes: { listed: 6, reachable: 6 },
  slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 },
  replicasPerMaster: 1,
  masters: [
    { node: at(0), id: ids[0], slots: 5461, ranges: ['0-5460'], replicas: [at(3)] },
    { node: at(1), id: ids[1], slots: 5461, ranges: ['5461-10921'], replicas: [at(4)] },
    { node: at(2), id: ids[2], slots: 5462, ranges: ['10922-16383'], replicas: [at(5)] },
  ],
  problems: [],
  warnings: [ONE_HOST_WARNING()],
});

/** CLUSTER NODES of node i, parsed. */
async function viewOf(i: number) {
  return parseClusterNodes((await clients[i].call('CLUSTER', 'NODES')) as string);
}

test('usage errors name the problem and change nothing: a node count that does not split into masters and replicas, a malformed address', async () => {
  const five = await runCli([
    'cluster',
    'create',
    '--nodes',
    cluster.nodes
      .slice(0, 5)
      .map((n) => n.address)
      .join(','),
  ]);
  expect(five.code).toBe(2);
  expect(five.logs.at(-1)?.msg).toBe('usage error: cluster create needs a multiple of 2 nodes (1 master + 1 replicas), at least 6; --nodes lists 5');
  const bad = await runCli(['cluster', 'check', '--nodes', `${at(0)},localhost`]);
  expect(bad.code).toBe(2);
  expect(bad.logs.at(-1)?.msg).toBe(`usage error: --nodes (or env CLUSTER_NODES) must be host:port entries separated by commas, got 'localhost' in '${at(0)},localhost'`);
  const unknown = await runCli(['cluster', 'nope', '--nodes', at(0)]);
  expect(unknown.code).toBe(2);
  expect(unknown.logs.at(-1)?.msg).toBe("usage error: unknown command 'cluster nope'");
  const none = await runCli(['cluster', 'check']);
  expect(none.code).toBe(2);
  expect(none.logs.at(-1)?.msg).toBe("usage error: --nodes (or env CLUSTER_NODES) must list the cluster's nodes as host:port,host:port,...");
  // Nothing was touched: every node still knows only itself.
  for (let i = 0; i < 6; i++) expect((await viewOf(i)).map((e) => e.id)).toEqual([ids[i]]);
});

test('create makes 3 masters with one replica each on 6 nodes; check says ok with the exact layout and exits 0', async () => {
  // WHEN
  const created = await clusterCli(['create']);
  // THEN
  expect({ code: created.code, stderr: created.code === 0 ? '' : created.stderr }).toEqual({ code: 0, stderr: '' });
  const result = json(created.stdout);
  expect(result).toEqual({
    changed: true,
    actions: [
      ...[0, 1, 2, 3, 4, 5].map((i) => ({ action: 'set-config-epoch', node: at(i), epoch: i + 1 })),
      ...[1, 2, 3, 4, 5].map((i) => ({ action: 'meet', node: at(i), via: at(0) })),
      { action: 'add-slots', node: at(0), slots: ['0-5460'] },
      { action: 'add-slots', node: at(1), slots: ['5461-10921'] },
      { action: 'add-slots', node: at(2), slots: ['10922-16383'] },
      ...[0, 1, 2].map((i) => ({ action: 'replicate', node: at(i + 3), master: at(i) })),
    ],
    report: createdReport(),
  });
  const check = await clusterCli(['check']);
  expect(check.code).toBe(0);
  expect(json(check.stdout)).toEqual(createdReport());
  // What the nodes themselves say.
  for (let i = 0; i < 6; i++)
    expect(await clients[i].call('CLUSTER', 'INFO')).toMatch(/cluster_state:ok\r\ncluster_slots_assigned:16384\r\n.*cluster_known_nodes:6\r\ncluster_size:3\r\n/s);
  const replicaView = await viewOf(3);
  expect(replicaView.find((e) => e.myself)).toMatchObject({ role: 'replica', masterId: ids[0] });
}, 120_000);

test('a rerun of create changes nothing and says so', async () => {
  const rerun = await clusterCli(['create']);
  expect(rerun.code).toBe(0);
  expect(json(rerun.stdout)).toEqual({ changed: false, actions: [], report: createdReport() });
  expect(rerun.logs.map((l) => l.msg)).toContain('cluster already created: nothing to do');
}, 60_000);

test('create refuses nodes of another cluster, changing nothing', async () => {
  // Nodes 0-2 know nodes 3-5, which are not listed.
  const result = await clusterCli(['create', '--replicas-per-master', '0'], { CLUSTER_NODES: [0, 1, 2].map(at).join(',') });
  expect(result.code).toBe(1);
  expect(result.logs.at(-1)?.msg).toBe(
    `${at(0)} belongs to another cluster: it knows ${[3, 4, 5]
      .map((i) => `${at(i)} (${ids[i]})`)
      .sort()
      .join(', ')}, not in --nodes; nothing was changed`,
  );
  expect(result.stdout).toBe('');
}, 60_000);

test('check exits 1 naming an open slot (SETSLOT MIGRATING); ok again once it is STABLE', async () => {
  // GIVEN slot 100 (served by node 0) marked as migrating to node 1
  expect(await clients[0].call('CLUSTER', 'SETSLOT', '100', 'MIGRATING', ids[1])).toBe('OK');
  try {
    // WHEN
    const check = await clusterCli(['check']);
    // THEN
    expect(check.code).toBe(1);
    expect(json(check.stdout)).toEqual({
      ...createdReport(),
      ok: false,
      slots: { covered: 16384, uncovered: 0, disputed: 0, open: 1 },
      problems: [{ problem: 'open-slot', node: at(0), slot: 100, state: 'migrating', peer: at(1), message: `slot 100 is migrating from ${at(0)} to ${at(1)}` }],
    });
  } finally {
    expect(await clients[0].call('CLUSTER', 'SETSLOT', '100', 'STABLE')).toBe('OK');
  }
  expect((await clusterCli(['check'])).code).toBe(0);
}, 60_000);

test('kill -9 of a master: once its replica took over, check exits 1 naming the dead node and the master without replica; restarted on its data it rejoins as a replica and check passes', async () => {
  // GIVEN node 0 (master of 0-5460, replica node 3) killed
  await cluster.nodes[0].kill();
  await waitFor(
    async () => {
      const views = await Promise.all([1, 2, 3, 4, 5].map(viewOf));
      return views.every((v) => {
        const dead = v.find((e) => e.id === ids[0]);
        const heir = v.find((e) => e.id === ids[3]);
        return dead?.flags.includes('fail') && heir?.role === 'master' && heir.slots.some((r) => r.start === 0 && r.end === 5460);
      });
    },
    'nodes 1-5 to flag node 0 fail and name node 3 the master of 0-5460',
    30_000,
    200,
  ).catch(async (error: Error) => {
    const views = await Promise.all([1, 2, 3, 4, 5].map((i) => clients[i].call('CLUSTER', 'NODES')));
    throw new Error(`${error.message}; views:\n${views.join('\n')}`);
  });
  // WHEN
  const check = await clusterCli(['check']);
  // THEN
  expect(check.code).toBe(1);
  const report = json(check.stdout) as { problems: { problem: string; error?: string }[] };
  const unreachable = report.problems[0];
  expect(unreachable.error).toMatch(new RegExp(`^Redis at redis://${at(0)}/0 not reachable within 2s`));
  expect(report).toEqual({
    ok: false,
    nodes: { listed: 6, reachable: 5 },
    slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 },
    replicasPerMaster: 1,
    masters: [
      { node: at(3), id: ids[3], slots: 5461, ranges: ['0-5460'], replicas: [] },
      { node: at(1), id: ids[1], slots: 5461, ranges: ['5461-10921'], replicas: [at(4)] },
      { node: at(2), id: ids[2], slots: 5462, ranges: ['10922-16383'], replicas: [at(5)] },
    ],
    problems: [
      { problem: 'unreachable', node: at(0), error: unreachable.error, message: `${at(0)} did not answer: ${unreachable.error}` },
      { problem: 'failed-node', node: at(0), id: ids[0], fail: [1, 2, 3, 4, 5].map(at), pfail: [], message: `${at(0)} is flagged fail by ${[1, 2, 3, 4, 5].map(at).join(', ')}` },
      { problem: 'replicas', master: at(3), expected: 1, replicas: [], message: `${at(3)} has 0 replicas, expected 1` },
    ],
    warnings: [{ ...ONE_HOST_WARNING(), pairs: ONE_HOST_WARNING().pairs.slice(1), message: ONE_HOST_WARNING().message.replace('3 of 3', '2 of 2') }],
  });

  // AND WHEN node 0 starts again on its own dir (nodes.conf, AOF)
  await cluster.nodes[0].restart();
  clients[0].disconnect();
  clients[0] = cluster.nodes[0].client();
  let after = await clusterCli(['check']);
  await waitFor(async () => (after = await clusterCli(['check'])).code === 0, 'check to pass after node 0 rejoined', 60_000, 500).catch((error: Error) => {
    throw new Error(`${error.message}; the last report: ${after.stdout}`);
  });
  expect(after.code).toBe(0);
  expect(json(after.stdout)).toEqual(afterFailoverReport());
}, 150_000);

/** The report once node 3 took over from node 0, and node 0 came back as its replica. */
const afterFailoverReport = () => {
  const original = createdReport();
  return {
    ...original,
    masters: [{ node: at(3), id: ids[3], slots: 5461, ranges: ['0-5460'], replicas: [at(0)] }, ...original.masters.slice(1)],
    warnings: [{ ...ONE_HOST_WARNING(), pairs: [{ master: at(3), replica: at(0) }, ...ONE_HOST_WARNING().pairs.slice(1)] }],
  };
};

test('check exits 1 when a master dropped slots (DELSLOTS): the nodes disagree and that master is down', async () => {
  // GIVEN node 1 no longer serves slots 5461-5470 (the others still name it). Last: putting them back
  // (ADDSLOTSRANGE, even with BUMPEPOCH) leaves its replica with the slots as DELSLOTS left them,
  // which CLUSTER NODES does not show and a failover would reveal (seen here).
  expect(await clients[1].call('CLUSTER', 'DELSLOTSRANGE', '5461', '5470')).toBe('OK');
  await waitFor(async () => /cluster_state:fail/.test((await clients[1].call('CLUSTER', 'INFO')) as string), 'node 1 to report cluster_state:fail', 15_000);
  // WHEN
  const check = await clusterCli(['check']);
  // THEN
  expect(check.code).toBe(1);
  const owners = Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [at(i), i === 1 ? null : at(1)]));
  const says = [0, 1, 2, 3, 4, 5].map((i) => `${at(i)} says ${i === 1 ? 'none' : at(1)}`).join(', ');
  const report = afterFailoverReport();
  expect(json(check.stdout)).toEqual({
    ...report,
    ok: false,
    slots: { covered: 16374, uncovered: 0, disputed: 10, open: 0 },
    masters: [report.masters[0], { ...report.masters[1], slots: 5451, ranges: ['5471-10921'] }, report.masters[2]],
    problems: [
      { problem: 'slots-disagree', slots: ['5461-5470'], count: 10, owners, message: `nodes disagree on the master of slots 5461-5470: ${says}` },
      { problem: 'cluster-state-fail', nodes: [at(1)], message: `cluster_state is fail on ${at(1)}` },
    ],
  });
}, 60_000);

describe('fix', () => {
  test('leaves what it cannot settle (node 1 alone dropped slots the others name it for), listing it, and exits 1', async () => {
    const fix = await clusterCli(['fix']);
    expect(fix.code).toBe(1);
    const result = json(fix.stdout) as { changed: boolean; actions: unknown[]; notFixed: { problem: string; reason: string }[]; report: { problems: { problem: string }[] } };
    expect(result.changed).toBe(false);
    expect(result.actions).toEqual([]);
    expect(result.notFixed.map((n) => [n.problem, n.reason])).toEqual([['slots-disagree', `a node names no master for it (${at(1)})`]]);
    expect(result.report.problems.map((p) => p.problem)).toEqual(['slots-disagree', 'cluster-state-fail']);
  }, 60_000);

  test('clears an open slot no key has moved for (both ends) and gives uncovered slots to the master serving the fewest; check passes after', async () => {
    // GIVEN slots 5461-5470 served by nobody (dropped on every node), slot 200 half-way from node 3 to node 1
    for (const i of [0, 2, 3, 4, 5]) expect(await clients[i].call('CLUSTER', 'DELSLOTSRANGE', '5461', '5470')).toBe('OK');
    expect(await clients[3].call('CLUSTER', 'SETSLOT', '200', 'MIGRATING', ids[1])).toBe('OK');
    expect(await clients[1].call('CLUSTER', 'SETSLOT', '200', 'IMPORTING', ids[3])).toBe('OK');
    const before = await clusterCli(['check']);
    expect(before.code).toBe(1);
    expect((json(before.stdout) as { problems: { problem: string }[] }).problems.map((p) => p.problem)).toEqual([
      'uncovered-slots',
      'open-slot',
      'open-slot',
      'cluster-state-fail',
    ]);
    // WHEN
    const fix = await clusterCli(['fix']);
    // THEN
    expect({ code: fix.code, stderr: fix.code === 0 ? '' : fix.stderr }).toEqual({ code: 0, stderr: '' });
    expect(json(fix.stdout)).toEqual({
      changed: true,
      actions: [
        { action: 'setslot-stable', node: at(1), slot: 200 },
        { action: 'setslot-stable', node: at(3), slot: 200 },
        // Node 1 serves 5451 slots, node 3 5461, node 2 5462.
        { action: 'add-slots', node: at(1), slots: ['5461-5470'] },
      ],
      notFixed: [],
      report: afterFailoverReport(),
    });
    const check = await clusterCli(['check']);
    expect(check.code).toBe(0);
    expect(json(check.stdout)).toEqual(afterFailoverReport());
  }, 90_000);

  test('a rerun changes nothing', async () => {
    const fix = await clusterCli(['fix']);
    expect(fix.code).toBe(0);
    expect(json(fix.stdout)).toEqual({ changed: false, actions: [], notFixed: [], report: afterFailoverReport() });
  }, 60_000);

  test('an open slot whose importing side already holds keys is finished: the keys left move, the slot goes to the importing side', async () => {
    // GIVEN slot 300 of node 3 importing into node 1, one key of it moved already, one still on node 3
    const [moved, left] = await keysInSlot(300, 2);
    expect(await clients[3].set(left, 'left')).toBe('OK');
    expect(await clients[3].call('CLUSTER', 'SETSLOT', '300', 'MIGRATING', ids[1])).toBe('OK');
    expect(await clients[1].call('CLUSTER', 'SETSLOT', '300', 'IMPORTING', ids[3])).toBe('OK');
    // ASKING (just before, on the same connection) lets node 1 take a write for a slot it imports.
    expect(await clients[1].pipeline().call('ASKING').set(moved, 'moved').exec()).toEqual([
      [null, 'OK'],
      [null, 'OK'],
    ]);
    // WHEN
    const fix = await clusterCli(['fix']);
    // THEN
    expect({ code: fix.code, stderr: fix.code === 0 ? '' : fix.stderr }).toEqual({ code: 0, stderr: '' });
    const report = afterFailoverReport();
    expect(json(fix.stdout)).toEqual({
      changed: true,
      actions: [{ action: 'finish-migration', slot: 300, from: at(3), to: at(1), keys: 1 }],
      notFixed: [],
      report: {
        ...report,
        masters: [{ ...report.masters[0], slots: 5460, ranges: ['0-299', '301-5460'] }, { ...report.masters[1], slots: 5462, ranges: ['300', '5461-10921'] }, report.masters[2]],
      },
    });
    expect([await clients[1].get(moved), await clients[1].get(left), await clients[3].dbsize()]).toEqual(['moved', 'left', 0]);
  }, 60_000);
  test('slots the nodes disagree on for good go to the master most masters name, or to the one holding their keys; check passes after', async () => {
    // GIVEN node 3 (master of 0-299, 301-5460) gave slots 1000 and 2000 to node 1 by SETSLOT NODE alone: node 1 never
    // claims them, so every node but node 3 names node 3 and node 3 names node 1, which gossip never ends.
    for (const slot of ['1000', '2000']) expect(await clients[3].call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[1])).toBe('OK');
    // AND node 1 holds a key of slot 2000 (written while importing it, then the slot set stable again)
    const [key] = await keysInSlot(2000, 1);
    expect(await clients[1].call('CLUSTER', 'SETSLOT', '2000', 'IMPORTING', ids[3])).toBe('OK');
    expect(await clients[1].pipeline().call('ASKING').set(key, 'on node 1').exec()).toEqual([
      [null, 'OK'],
      [null, 'OK'],
    ]);
    expect(await clients[1].call('CLUSTER', 'SETSLOT', '2000', 'STABLE')).toBe('OK');
    // Longer than gossip takes to carry a change, so the check below sees the dispute that stays, not one in flight.
    await new Promise((r) => setTimeout(r, 3000));
    const owners = Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [at(i), i === 3 ? at(1) : at(3)]));
    const says = [0, 1, 2, 3, 4, 5].map((i) => `${at(i)} says ${owners[at(i)]}`).join(', ');
    const disputed = { problem: 'slots-disagree', slots: ['1000', '2000'], count: 2, owners, message: `nodes disagree on the master of slots 1000, 2000: ${says}` };
    const before = await clusterCli(['check']);
    expect([before.code, (json(before.stdout) as { problems: unknown[] }).problems]).toEqual([1, [disputed]]);
    // WHEN
    const fix = await clusterCli(['fix']);
    // THEN slot 1000 is node 3's again (no master lists it, none holds keys of it, 2 of 3 masters name node 3), slot 2000 node 1's
    expect({ code: fix.code, stderr: fix.code === 0 ? '' : fix.stderr }).toEqual({ code: 0, stderr: '' });
    const report = afterFailoverReport();
    const settled = {
      ...report,
      masters: [
        { ...report.masters[0], slots: 5459, ranges: ['0-299', '301-1999', '2001-5460'] },
        { ...report.masters[1], slots: 5463, ranges: ['300', '2000', '5461-10921'] },
        report.masters[2],
      ],
    };
    expect(json(fix.stdout)).toEqual({
      changed: true,
      actions: [
        { action: 'set-owner', node: at(1), slots: ['2000'], reason: 'holds its keys' },
        { action: 'set-owner', node: at(3), slots: ['1000'], reason: 'named by most masters' },
      ],
      notFixed: [],
      report: settled,
    });
    // AND every node names them so, and the key is served
    for (const i of [0, 1, 2, 3, 4, 5]) {
      const view = await viewOf(i);
      expect([1000, 2000].map((slot) => view.find((e) => e.role === 'master' && e.slots.some((r) => r.start <= slot && slot <= r.end))?.id)).toEqual([ids[3], ids[1]]);
    }
    expect(await clients[1].get(key)).toBe('on node 1');
    const after = await clusterCli(['check']);
    expect([after.code, json(after.stdout)]).toEqual([0, settled]);
  }, 60_000);
});

/** `count` keys hashing to `slot`. */
async function keysInSlot(slot: number, count: number): Promise<string[]> {
  const candidates = Array.from({ length: 50_000 }, (_, i) => `k${i}`);
  const pipeline = clients[1].pipeline();
  for (const key of candidates) pipeline.call('CLUSTER', 'KEYSLOT', key);
  const slots = ((await pipeline.exec()) ?? []).map(([, s]) => s);
  const found = candidates.filter((_, i) => slots[i] === slot).slice(0, count);
  if (found.length < count) throw new Error(`fewer than ${count} keys of slot ${slot} among ${candidates.length} candidates`);
  return found;
}
