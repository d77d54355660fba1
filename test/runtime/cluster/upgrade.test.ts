/**
 * The upgrade procedure on a live cluster of redis-server processes (3 masters + 3 replicas made by
 * `cluster create`), with the consistency checker running as a child process throughout: a rolling restart
 * of every node onto a changed config loses no acknowledged write and keeps every node id.
 */
import { upgradeCluster } from '../../../runtime/cluster/upgrade';
import { createLogger } from '../../../runtime/log';
import { countsBetween, ProofCluster, recordStep, startProofCluster, stopChecker } from '../../support/cluster-proof';
import { LocalNodeSet } from '../../support/local-node-set';

let proof: ProofCluster;

beforeAll(async () => {
  proof = await startProofCluster();
}, 60_000);

afterAll(async () => {
  await proof?.stop();
});

const ids = () =>
  Promise.all(
    proof.cluster.nodes.map(async (n) => {
      const c = n.client();
      try {
        return (await c.call('CLUSTER', 'MYID')) as string;
      } finally {
        c.disconnect();
      }
    }),
  );

test('a rolling restart onto a changed config (hz 10 -> 20), continuing after an earlier run restarted one node, highest ordinal first, masters failed over first: check ok, every node id kept, 0 lost writes', async () => {
  const before = await ids();
  const set = new LocalNodeSet(proof.cluster, { hz: '20' });
  expect(await set.outdated()).toHaveLength(6);
  const from = await proof.nextLine();
  const start = Date.now();
  // An earlier run that stopped after its first restart (a replica): the procedure continues from there.
  await set.restart((await set.outdated())[0], createLogger({ level: 'warn', format: 'json' }));
  expect(await set.outdated()).toHaveLength(5);

  const result = await upgradeCluster(set, { replicasPerMaster: 1, connection: { connectTimeoutMs: 2000 }, timeoutMs: 30_000 }, createLogger({ level: 'warn', format: 'json' }));

  const to = await proof.nextLine();
  const addresses = proof.cluster.nodes.map((n) => n.address);
  // Highest ordinal first; nodes 0-2 were the masters, each failed over to its replica (node i+3) first.
  expect(set.restarted).toEqual([...addresses].reverse());
  expect(result.steps.map((s) => [s.node, s.failedOverTo ?? null])).toEqual([
    [addresses[4], null],
    [addresses[3], null],
    [addresses[2], addresses[5]],
    [addresses[1], addresses[4]],
    [addresses[0], addresses[3]],
  ]);
  expect(result.steps.map((s) => s.id)).toEqual([...before].reverse().slice(1));
  expect(await ids()).toEqual(before);
  expect(await set.outdated()).toEqual([]);
  for (const n of proof.cluster.nodes) expect(await set.runningConfig(n)).toEqual({ hz: '20' });
  expect(result.report).toMatchObject({ ok: true, slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 } });
  const check = await proof.cli(['check']);
  expect(check.code).toBe(0);
  expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, slots: { covered: 16384 }, masters: [{ node: addresses[3] }, { node: addresses[4] }, { node: addresses[5] }] });

  // A rerun finds nothing outdated and changes nothing.
  expect(
    (await upgradeCluster(set, { replicasPerMaster: 1, connection: { connectTimeoutMs: 2000 }, timeoutMs: 30_000 }, createLogger({ level: 'warn', format: 'json' }))).steps,
  ).toEqual([]);

  const counts = countsBetween(proof.lines(), from, to);
  recordStep('rolling-restart', { ...counts, ms: Date.now() - start, steps: result.steps.map((s) => ({ node: s.node, ms: s.ms })) });
  expect(counts.writes).toBeGreaterThan(0);
  expect(counts.lostWrites).toBe(0);

  const stopped = await stopChecker(proof);
  expect(stopped.code).toBe(0);
  expect(stopped.summary.lostWrites).toBe(0);
  expect(stopped.summary.reads).toBeGreaterThan(0);
}, 120_000);
