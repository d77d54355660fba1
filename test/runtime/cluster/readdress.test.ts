/**
 * Every node of a live cluster (3 masters + 3 replicas made by `cluster create`, each on a loopback address
 * of its own) stopped at once and started again on a NEW loopback address with its own nodes.conf, as pods
 * that all restarted get new IPs. Each node still knows its peers only at their old addresses and reaches
 * none of them, so the cluster stays down by itself; `reconcile` MEETs every node at its listed (new)
 * address, Redis matches the node ids of the handshakes and updates the addresses, and the cluster comes back
 * whole with every node id, slot and role it had. The consistency checker, seeded with old and new
 * addresses, runs throughout.
 */
import { parseClusterNodes } from '../../../runtime/cluster/topology';
import { startCli, waitFor } from '../../support/cli';
import { CheckerLine, countsBetween, ProofCluster, recordStep, startProofCluster, stopChecker } from '../../support/cluster-proof';

const OLD_HOSTS = [11, 12, 13, 14, 15, 16].map((x) => `127.0.0.${x}`);
const NEW_HOSTS = [21, 22, 23, 24, 25, 26].map((x) => `127.0.0.${x}`);

let proof: ProofCluster;
let ports: number[] = [];

beforeAll(async () => {
  proof = await startProofCluster({
    hosts: OLD_HOSTS,
    // The checker's pod would be given the client Service; here: every old and new address as seeds.
    checkerSeeds: (cluster) => [...cluster.nodes.map((n) => n.address), ...cluster.nodes.map((n, i) => `${NEW_HOSTS[i]}:${n.port}`)].join(','),
  });
  ports = proof.cluster.nodes.map((n) => n.port);
}, 60_000);

afterAll(async () => {
  await proof?.stop();
});

async function views() {
  return Promise.all(
    proof.cluster.nodes.map(async (n) => {
      const c = n.client();
      try {
        return parseClusterNodes((await c.call('CLUSTER', 'NODES')) as string);
      } finally {
        c.disconnect();
      }
    }),
  );
}

test('every node restarted at once on a new loopback address: down until reconcile MEETs the new addresses, then whole again with its ids, slots and roles', async () => {
  const before = (await views()).map((v) => v.find((e) => e.myself));
  const from = await proof.nextLine();
  const stoppedAt = Date.now();
  await Promise.all(proof.cluster.nodes.map((n) => n.stop()));
  await Promise.all(proof.cluster.nodes.map((n, i) => n.restart({ host: NEW_HOSTS[i] })));
  expect(proof.cluster.nodes.map((n) => n.address)).toEqual(NEW_HOSTS.map((h, i) => `${h}:${ports[i]}`));

  // By itself it stays down: nobody knows anybody's new address.
  const alone = await proof.cli(['check']);
  expect(alone.code).toBe(1);
  expect((await views()).every((v) => v.filter((e) => !e.myself).every((e) => OLD_HOSTS.includes(e.host)))).toBe(true);

  const reconcile = await proof.cli(['reconcile', '--timeout', '30']);
  expect(reconcile.code).toBe(0);
  const result = JSON.parse(reconcile.stdout) as { actions: { action: string }[]; report: { ok: boolean; slots: { covered: number } } };
  expect(result.report).toMatchObject({ ok: true, slots: { covered: 16384 } });
  expect(result.actions.filter((a) => a.action !== 'meet')).toEqual([]);
  const recoverMs = Date.now() - stoppedAt;

  const check = await proof.cli(['check']);
  expect(check.code).toBe(0);
  const after = (await views()).map((v) => v.find((e) => e.myself));
  expect(after.map((m) => [m?.id, m?.role, m?.slots, m?.masterId])).toEqual(before.map((m) => [m?.id, m?.role, m?.slots, m?.masterId]));
  for (const v of await views()) expect(v.map((e) => e.host).sort()).toEqual([...NEW_HOSTS].sort());

  // The checker found the cluster again through the new seeds.
  let to = await proof.nextLine();
  while (to.writes <= from.writes + 100) to = await proof.nextLine();
  const counts = countsBetween(proof.lines(), from, to);
  recordStep('restart-all-on-new-addresses', { ...counts, recoverMs, meets: result.actions.length });
  expect(counts.lostWrites).toBe(0);

  const stopped = await stopChecker(proof);
  expect(stopped.code).toBe(0);
  expect(stopped.summary.lostWrites).toBe(0);
}, 90_000);

test('consistency-check --duration: a JSON line a second, /healthz, /readyz and /metrics while it runs, a summary line; writes lost (keys flushed under it) make it exit 1', async () => {
  const checker = startCli(['cluster', 'consistency-check', '--duration', '4', '--metrics-port', '0', '--keys', '50', '--key-prefix', 'flushed:', '--rate', '200'], {
    env: { CLUSTER_NODES: proof.cluster.addresses, LOG_FORMAT: 'json' },
  });
  const listening = await checker.waitForLog((l) => l.msg === 'health server listening');
  const url = (path: string) => `http://127.0.0.1:${String(listening.port)}${path}`;
  await waitFor(async () => (await fetch(url('/readyz'))).status === 200, 'the checker ready', 10_000, 100);
  expect((await fetch(url('/healthz'))).status).toBe(200);
  await waitFor(
    () =>
      checker
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .some((l) => (JSON.parse(l) as { writes: number }).writes > 50),
    'writes',
    10_000,
    100,
  );
  const metrics = await (await fetch(url('/metrics'))).text();
  expect(metrics).toMatch(/^redis_keda_consistency_writes_total [1-9]\d*$/m);
  expect(metrics).toMatch(/^redis_keda_consistency_lost_writes_total 0$/m);
  expect(metrics).toMatch(/^redis_keda_consistency_longest_write_gap_seconds \d/m);

  // Every key set back to nothing under the checker: every key it wrote reads below what was acknowledged.
  const flushed = await proof.cli(['exec', '--ordinals', '0,1,2', 'FLUSHALL']);
  expect(flushed.code).toBe(0);
  const result = await checker.done;
  expect(result.code).toBe(1);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CheckerLine);
  const summary = lines.at(-1);
  expect(summary).toMatchObject({ summary: true, failedWrites: 0 });
  expect(summary?.lostWrites).toBeGreaterThan(0);
  expect(lines.length).toBeGreaterThanOrEqual(4);
  expect(result.logs).toContainEqual(expect.objectContaining({ level: 'error', msg: 'writes were lost', lostWrites: summary?.lostWrites }));
}, 30_000);
