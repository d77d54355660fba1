/**
 * Failures on a live cluster of redis-server processes (3 masters + 3 replicas made by `cluster create`), the
 * consistency checker running as a child process throughout: `kill -9` of a master (its replica takes over,
 * `check` names the missing replica, the killed node restarted on its own data dir rejoins as a replica,
 * `reconcile` leaves the cluster ok), a node that lost its data dir (`reconcile` MEETs it, FORGETs its old id
 * and makes it the missing replica), and `cluster exec` on chosen ordinals.
 */
import { rmSync } from 'fs';
import { join } from 'path';
import { parseClusterNodes } from '../../../runtime/cluster/topology';
import { waitFor } from '../../support/cli';
import { countsBetween, ProofCluster, recordStep, startProofCluster, stopChecker } from '../../support/cluster-proof';

let proof: ProofCluster;
let at: (i: number) => string;

beforeAll(async () => {
  proof = await startProofCluster();
  at = (i) => proof.cluster.nodes[i].address;
}, 60_000);

afterAll(async () => {
  await proof?.stop();
});

async function viewOf(i: number) {
  const c = proof.cluster.nodes[i].client();
  try {
    return parseClusterNodes((await c.call('CLUSTER', 'NODES')) as string);
  } finally {
    c.disconnect();
  }
}
const myselfOf = async (i: number) => (await viewOf(i)).find((e) => e.myself);

test('cluster exec runs one command on the nodes of the ordinals and prints every reply; exit 1 when one failed, 2 for an ordinal out of range', async () => {
  const hz = await proof.cli(['exec', '--ordinals', '0,2', 'CONFIG', 'GET', 'hz']);
  expect(hz.code).toBe(0);
  expect(JSON.parse(hz.stdout)).toEqual({ [at(0)]: { reply: ['hz', '10'] }, [at(2)]: { reply: ['hz', '10'] } });
  const bad = await proof.cli(['exec', '--ordinals', '1', 'NO-SUCH-COMMAND']);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout)).toEqual({ [at(1)]: { error: expect.stringMatching(/^NO-SUCH-COMMAND on .* failed: ERR unknown command 'NO-SUCH-COMMAND'/) as unknown } });
  const out = await proof.cli(['exec', '--ordinals', '6', 'PING']);
  expect(out.code).toBe(2);
  expect(out.logs.at(-1)?.msg).toBe("usage error: --ordinals (or env CLUSTER_EXEC_ORDINALS) must be distinct node indexes from 0 to 5 separated by commas, got '6'");
}, 60_000);

test('kill -9 of a master: its replica takes over, check names the missing replica, the killed node restarted on its own data dir rejoins as its replica, reconcile leaves the cluster ok; lost writes bounded', async () => {
  const oldId = (await myselfOf(0))?.id;
  const from = await proof.nextLine();
  const killedAt = Date.now();
  await proof.cluster.nodes[0].kill();

  await waitFor(async () => (await myselfOf(3))?.role === 'master', `${at(3)} to take over from the killed ${at(0)}`, 20_000, 100);
  const failoverMs = Date.now() - killedAt;
  const check = await proof.cli(['check']);
  expect(check.code).toBe(1);
  const report = JSON.parse(check.stdout) as { problems: { problem: string; master?: string; node?: string }[]; slots: { covered: number } };
  expect(report.slots.covered).toBe(16384);
  expect(report.problems).toContainEqual(expect.objectContaining({ problem: 'replicas', master: at(3), expected: 1, replicas: [] }));
  expect(report.problems).toContainEqual(expect.objectContaining({ problem: 'unreachable', node: at(0) }));

  await proof.cluster.nodes[0].restart();
  const reconcile = await proof.cli(['reconcile', '--timeout', '30']);
  expect(reconcile.code).toBe(0);
  const recovered = JSON.parse(reconcile.stdout) as { report: { ok: boolean; masters: { node: string; replicas: string[] }[] } };
  expect(recovered.report.ok).toBe(true);
  expect(recovered.report.masters).toContainEqual(expect.objectContaining({ node: at(3), replicas: [at(0)] }));
  const recoverMs = Date.now() - killedAt;
  expect(await myselfOf(0)).toMatchObject({ id: oldId, role: 'replica', masterId: (await myselfOf(3))?.id });
  const to = await proof.nextLine();

  const counts = countsBetween(proof.lines(), from, to);
  recordStep('kill-9-master', { ...counts, failoverMs, recoverMs, reconcileActions: (JSON.parse(reconcile.stdout) as { actions: unknown[] }).actions });
  expect(counts.writes).toBeGreaterThan(0);
  // Asynchronous replication: the killed master may take the writes it acknowledged in its last moment (well
  // under a second of the checker's 400 writes per second) with it, never more.
  expect(counts.lostWrites).toBeLessThan(400);
}, 60_000);

test('a node that lost its data dir comes back with a new id: reconcile MEETs it, FORGETs its old id on every node and makes it the replica its master misses', async () => {
  const node = proof.cluster.nodes[4];
  const old = await myselfOf(4);
  expect(old?.role).toBe('replica');
  await node.kill();
  for (const file of ['nodes.conf', 'appendonlydir']) rmSync(join(node.dir, file), { recursive: true, force: true });
  await node.restart();
  const fresh = await myselfOf(4);
  expect(fresh?.id).not.toBe(old?.id);
  // The others find another id at its address and flag the old one noaddr (such a node is never failed: nobody pings it).
  await waitFor(async () => (await viewOf(1)).some((e) => e.id === old?.id && e.flags.includes('noaddr')), `the old id of ${at(4)} flagged noaddr`, 20_000, 200);

  const reconcile = await proof.cli(['reconcile', '--timeout', '30']);
  expect(reconcile.code).toBe(0);
  const result = JSON.parse(reconcile.stdout) as { actions: { action: string; node: string; id?: string; on?: string[]; master?: string }[]; report: { ok: boolean } };
  expect(result.report.ok).toBe(true);
  expect(result.actions.filter((a) => a.action === 'forget')).toEqual([{ action: 'forget', node: old?.id, id: old?.id, on: [0, 1, 2, 3, 5].map(at) }]);
  // Node 4 replicated node 1; node 1 is the one master short of a replica.
  expect(result.actions.filter((a) => a.action === 'replicate')).toEqual([{ action: 'replicate', node: at(4), master: at(1) }]);
  expect(result.actions.filter((a) => a.action === 'meet').length).toBeGreaterThan(0);
  for (const i of [0, 1, 2, 3, 5]) expect((await viewOf(i)).map((e) => e.id)).not.toContain(old?.id);

  const stopped = await stopChecker(proof);
  expect(stopped.code).toBe(0);
}, 60_000);
