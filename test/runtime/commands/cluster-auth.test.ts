/**
 * `redis-keda cluster create|check|rebalance` with a password (env REDIS_PASSWORD, never printed) on six nodes
 * spread over three loopback hosts (127.0.0.1-3), so every replica can sit on another host than its
 * master; and the refusal of a node that holds a key.
 */
import type Redis from 'ioredis';
import { parseClusterNodes } from '../../../runtime/cluster/topology';
import { runCli, waitFor } from '../../support/cli';
import { ClusterNodes, startClusterNodes } from '../../support/redis-cluster';

const PASSWORD = 'cl-secret-7Hq2';
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

let cluster: ClusterNodes;
let clients: Redis[];
let at: (i: number) => string;

beforeAll(async () => {
  cluster = await startClusterNodes({ count: 6, password: PASSWORD, hosts: HOSTS });
  clients = cluster.nodes.map((n) => n.client());
  at = (i) => cluster.nodes[i].address;
}, 60_000);

afterAll(async () => {
  for (const c of clients ?? []) c.disconnect();
  await cluster?.stop();
});

const clusterCli = (args: string[], env: Record<string, string> = { REDIS_PASSWORD: PASSWORD }) =>
  runCli(['cluster', ...args, '--nodes', cluster.addresses], { env: { REDIS_CONNECT_TIMEOUT: '3', ...env }, timeoutMs: 100_000 });

const myIds = () => Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));

test('create refuses a node that holds a key and changes nothing on any node', async () => {
  // GIVEN node 2 alone serving every slot, with one key
  expect(await clients[2].call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')).toBe('OK');
  try {
    await waitFor(async () => /cluster_state:ok/.test((await clients[2].call('CLUSTER', 'INFO')) as string), 'node 2 alone to report cluster_state:ok', 20_000, 100);
    expect(await clients[2].set('left-over', 'x')).toBe('OK');
    // WHEN
    const result = await clusterCli(['create']);
    // THEN
    expect(result.code).toBe(1);
    expect(result.logs.at(-1)?.msg).toBe(`${at(2)} holds 1 key: create takes only empty nodes (or this cluster's own on a rerun); nothing was changed`);
    expect(result.stdout).toBe('');
    const ids = await myIds();
    for (let i = 0; i < 6; i++) {
      const view = parseClusterNodes((await clients[i].call('CLUSTER', 'NODES')) as string);
      expect(view.map((e) => ({ id: e.id, configEpoch: e.configEpoch }))).toEqual([{ id: ids[i], configEpoch: 0 }]);
    }
  } finally {
    // Emptied and reset, node 2 is a fresh node again (with a new id).
    expect(await clients[2].flushall()).toBe('OK');
    expect(await clients[2].call('CLUSTER', 'RESET', 'HARD')).toBe('OK');
  }
}, 60_000);

test('create, rerun after a crash, with the password from env: does only what was missing; every replica on another host than its master; check ok with no warning; the password never printed', async () => {
  const ids = await myIds();
  // GIVEN a create that stopped after its first ADDSLOTSRANGE: node 0 met node 1 and took its share
  expect(await clients[0].call('CLUSTER', 'MEET', cluster.nodes[1].host, cluster.nodes[1].port, cluster.nodes[1].busPort)).toBe('OK');
  await waitFor(
    async () => parseClusterNodes((await clients[1].call('CLUSTER', 'NODES')) as string).some((e) => e.id === ids[0] && !e.flags.includes('handshake')),
    'node 1 to know node 0',
    20_000,
  );
  expect(await clients[0].call('CLUSTER', 'ADDSLOTSRANGE', '0', '5460')).toBe('OK');
  // WHEN
  const created = await clusterCli(['create']);
  // THEN
  expect({ code: created.code, stderr: created.code === 0 ? '' : created.stderr }).toEqual({ code: 0, stderr: '' });
  expect((JSON.parse(created.stdout) as { actions: unknown }).actions).toEqual([
    ...[2, 3, 4, 5].map((i) => ({ action: 'set-config-epoch', node: at(i), epoch: i + 1 })),
    ...[2, 3, 4, 5].map((i) => ({ action: 'meet', node: at(i), via: at(0) })),
    { action: 'add-slots', node: at(1), slots: ['5461-10921'] },
    { action: 'add-slots', node: at(2), slots: ['10922-16383'] },
    { action: 'replicate', node: at(3), master: at(1) },
    { action: 'replicate', node: at(5), master: at(0) },
    { action: 'replicate', node: at(4), master: at(2) },
  ]);
  const check = await clusterCli(['check']);
  expect(check.code).toBe(0);
  const report = {
    ok: true,
    nodes: { listed: 6, reachable: 6 },
    slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 },
    replicasPerMaster: 1,
    // Masters on 127.0.0.1, .2, .3 (nodes 0-2); nodes 3-5 on .1, .2, .3 again, each following a master elsewhere.
    masters: [
      { node: at(0), id: ids[0], slots: 5461, ranges: ['0-5460'], replicas: [at(5)] },
      { node: at(1), id: ids[1], slots: 5461, ranges: ['5461-10921'], replicas: [at(3)] },
      { node: at(2), id: ids[2], slots: 5462, ranges: ['10922-16383'], replicas: [at(4)] },
    ],
    problems: [],
    warnings: [],
  };
  expect(JSON.parse(created.stdout)).toMatchObject({ changed: true, report });
  expect(JSON.parse(check.stdout)).toEqual(report);
  for (const run of [created, check]) {
    expect(run.stdout).not.toContain(PASSWORD);
    expect(run.stderr).not.toContain(PASSWORD);
  }
}, 120_000);

test('check without the password, or with a wrong one: every node unreachable, saying why, exit 1; the wrong password never printed', async () => {
  const wrong = 'not-the-password-Zx9';
  for (const env of [{}, { REDIS_PASSWORD: wrong }] as Record<string, string>[]) {
    const check = await clusterCli(['check'], env);
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout) as { ok: boolean; nodes: unknown; problems: { problem: string; node: string; error: string }[] };
    expect(report).toMatchObject({ ok: false, nodes: { listed: 6, reachable: 0 } });
    expect(report.problems.map((p) => [p.problem, p.node])).toEqual([0, 1, 2, 3, 4, 5].map((i) => ['unreachable', at(i)]));
    for (const p of report.problems) expect(p.error).toMatch(new RegExp(`^Redis at redis://${p.node}/0 refused the credentials: (NOAUTH|WRONGPASS)`));
    expect(check.stdout + check.stderr).not.toContain(wrong);
  }
}, 60_000);

test('rebalance by weight with the password: MIGRATE authenticates on the target (AUTH), every key moves with its value, check ok, the password never printed', async () => {
  // GIVEN 300 keys through a cluster client
  const { Cluster } = await import('ioredis');
  const client = new Cluster([{ host: cluster.nodes[0].host, port: cluster.nodes[0].port }], { redisOptions: { password: PASSWORD } });
  try {
    const keys = Array.from({ length: 300 }, (_, i) => `auth-key:${i}`);
    await Promise.all(keys.map((k) => client.set(k, `${k}=v`)));
    // WHEN node 0 weighs twice the others
    const result = await clusterCli(['rebalance', '--weights', `${at(0)}=2`]);
    // THEN it serves half of the slots, moved from the two others' highest ones
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(result.stdout) as { moves: unknown[]; keys: number; report: { ok: boolean; masters: { node: string; slots: number }[] } };
    expect(out.moves).toEqual([
      { from: at(1), to: at(0), slots: ['9557-10921'], count: 1365 },
      { from: at(2), to: at(0), slots: ['15018-16383'], count: 1366 },
    ]);
    expect(out.keys).toBeGreaterThan(0);
    expect(out.report.ok).toBe(true);
    expect(out.report.masters.map((m) => [m.node, m.slots])).toEqual([
      [at(0), 8192],
      [at(1), 4096],
      [at(2), 4096],
    ]);
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys.map((k) => `${k}=v`));
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  } finally {
    client.disconnect();
  }
}, 90_000);
