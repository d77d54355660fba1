/**
 * The Kubernetes side of `redis-keda cluster` on a live control plane: a RedisCluster's StatefulSet
 * (pods on KWOK) grown, shrunk and restarted one ordinal at a time through `StatefulSetNodes`, acting
 * as the construct's operations ServiceAccount (`<name>-ops`, its token from the TokenRequest API);
 * each pod's Redis is a real redis-server in cluster mode on loopback: KWOK gives pod `rc-<i>` the IP
 * 127.83.<i>.1, where the test's server of that ordinal listens on 6379, so "answers PING" is real and
 * the CLI in Kubernetes mode (`--node-addressing pod-ip`) reaches the pods at the IPs the API shows.
 * Then the GitOps answer: dist's StatefulSet re-applied by server-side apply as Argo CD and Flux do it,
 * and by client-side apply, reverts neither replicas nor the partition.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Chart } from 'cdk8s';
import { RedisCluster } from '../constructs';
import {
  inClusterAccess,
  KubernetesApi,
  KubernetesApiError,
  kubeconfigAccess,
  PersistentVolumeClaim,
  Pod,
  REVISION_LABEL,
  StatefulSet,
} from '../runtime/cluster/kubernetes/api-client';
import { StatefulSetNodes } from '../runtime/cluster/kubernetes/stateful-set-nodes';
import type { CheckReport } from '../runtime/cluster/check';
import { Env, REDIS_PORT } from '../runtime/contract';
import { createLogger } from '../runtime/log';
import { runCli } from '../test/support/cli';
import { ClusterNodeProcess, ClusterNodes, startClusterNodes } from '../test/support/redis-cluster';
import { ChartObject, objectsOf, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { claimsOf, preBoundVolumes, statefulSetPods, watchClaimsWhilePodsExist, withTemplateAnnotation } from './harness/redis-cluster';
import { scenarioSteps } from './harness/steps';
import { builtInPodStages } from './harness/kwok-stages';

const NS = 'rc';
const NAME = 'rc';
const OTHER = 'other';
/** The Role of `rc` covers the claims of 4 masters x 2 pods: ordinals 0..7. */
const MAX_PODS = 8;

let plane: ControlPlane | undefined;
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const step = scenarioSteps(() => plane);
const log = createLogger({ level: 'warn' });
let redis: ClusterNodes | undefined;
const servers = () => redis?.nodes ?? [];
let objects: ChartObject[] = [];
let admin: KubernetesApi;
let ops: KubernetesApi;
let opsKubeconfig: string;
let nodes: StatefulSetNodes;

/** Pod `rc-<i>`'s IP, where the test's i-th redis-server listens. */
const hostOfOrdinal = (i: number) => `127.83.${i}.1`;
const addressOfOrdinal = (i: number) => `${hostOfOrdinal(i)}:${REDIS_PORT}`;

/**
 * KWOK's pod stages, but the pods of `rc` get the IP 127.83.<ordinal>.1 (from the StatefulSet's pod-index
 * label) instead of one of KWOK's pod range, which leads nowhere. The selectors stay disjoint.
 */
function loopbackPodIps(): object[] {
  const stages = builtInPodStages();
  const rcPods = { key: '.metadata.labels["statefulset.kubernetes.io/pod-name"]', values: Array.from({ length: MAX_PODS + 1 }, (_, i) => `${NAME}-${i}`) };
  const ready = stages.find((stage) => stage.metadata.name === 'pod-ready');
  const next = ready?.spec.next as { statusTemplate: string } | undefined;
  if (!ready || !next || !/^podIP: .*$/m.test(next.statusTemplate)) throw new Error("KWOK's pod-ready stage sets no podIP line any more");
  const withSelector = (stage: typeof ready, expression: object) => ({
    ...stage,
    spec: { ...stage.spec, selector: { ...stage.spec.selector, matchExpressions: [...(stage.spec.selector.matchExpressions ?? []), expression] } },
  });
  const loopback = withSelector(ready, { ...rcPods, operator: 'In' });
  return [
    ...stages.map((stage) => (stage === ready ? withSelector(stage, { ...rcPods, operator: 'NotIn' }) : stage)),
    {
      ...loopback,
      metadata: { name: 'rc-pod-ready-on-loopback' },
      spec: {
        ...loopback.spec,
        next: {
          ...next,
          statusTemplate: next.statusTemplate.replace(/^podIP: .*$/m, `podIP: {{ printf "127.83.%s.1" (index .metadata.labels "apps.kubernetes.io/pod-index") | Quote }}`),
        },
      },
    },
  ];
}

async function myId(server: ClusterNodeProcess): Promise<string> {
  const client = server.client();
  try {
    return String(await client.call('CLUSTER', 'MYID'));
  } finally {
    client.disconnect();
  }
}

/** `redis-keda cluster <args>` as the construct's ServiceAccount would run it, through the compiled CLI; stdout parsed. */
async function cli(args: readonly string[], timeoutMs = 60_000) {
  const result = await runCli(['cluster', ...args, '--statefulset', NAME, '--namespace', NS, '--kubeconfig', opsKubeconfig, '--node-addressing', 'pod-ip'], {
    env: { [Env.CLUSTER_REPLICAS_PER_MASTER]: '1', [Env.CLUSTER_TIMEOUT]: '30' },
    timeoutMs,
  });
  const json = result.stdout.trim() === '' ? undefined : (JSON.parse(result.stdout.trim().split('\n').pop()!) as unknown);
  return { code: result.code, json, stderr: result.stderr };
}

/** A PersistentVolume pre-bound to each claim the StatefulSets will make (no provisioner on this plane). */
function volumes(): object[] {
  const claims = [...Array.from({ length: MAX_PODS + 1 }, (_, i) => `data-${NAME}-${i}`), ...[0, 1, 2, 3, 4].map((i) => `data-${OTHER}-${i}`)];
  return preBoundVolumes(NS, claims, '1Gi');
}

const statefulSetOf = (name: string) => {
  const [sts] = objectsOf(objects, 'StatefulSet', name);
  if (!sts) throw new Error(`no StatefulSet ${name} in the synth output`);
  return sts;
};

const pods = (name = NAME): Promise<Map<number, Pod>> => statefulSetPods(admin, NS, name);
const claims = (): Promise<Map<string, PersistentVolumeClaim>> => claimsOf(admin, NS);

const live = (name = NAME) => admin.getStatefulSet(NS, name);
const partitionOf = (sts: StatefulSet) => sts.spec.updateStrategy?.rollingUpdate?.partition;

/** Re-applies a StatefulSet manifest the way a GitOps tool does (server-side apply, its field manager, conflicts forced). */
async function gitOpsApply(manifest: ChartObject, fieldManager: string): Promise<void> {
  await cluster().kubectl.ok(['apply', '--server-side', '--force-conflicts', `--field-manager=${fieldManager}`, '-f', '-'], JSON.stringify(manifest));
}

async function forbidden(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    if (error instanceof KubernetesApiError) return error.status;
    throw error;
  }
}

beforeAll(async () => {
  plane = await ControlPlane.start({ kwokNodes: 2, kwokStages: loopbackPodIps() });
  await plane.createRestrictedNamespace(NS);
  redis = await startClusterNodes({ count: MAX_PODS + 1, hosts: Array.from({ length: MAX_PODS + 1 }, (_, i) => hostOfOrdinal(i)), port: REDIS_PORT });
  objects = synthApp(plane, (app) => {
    const chart = new Chart(app, 'cluster', { namespace: NS });
    new RedisCluster(chart, 'rc', { name: NAME, operations: { maxMasters: 4, createJob: false } });
    new RedisCluster(chart, 'other', { name: OTHER, replicasPerMaster: 0, operations: { createJob: false } });
  });
  await plane.kubectl.apply(volumes());
  await plane.kubectl.ok(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  admin = new KubernetesApi(kubeconfigAccess(join(plane.dir, 'admin.kubeconfig')));
  const token = (await plane.kubectl.ok(['create', 'token', `${NAME}-ops`, '-n', NS, '--duration=1h'])).trim();
  opsKubeconfig = plane.kubeconfig(`${NAME}-ops`, { token });
  ops = new KubernetesApi(kubeconfigAccess(opsKubeconfig));
  nodes = new StatefulSetNodes(ops, { namespace: NS, name: NAME, timeoutMs: 60_000, connection: {}, addressing: 'pod-ip' });
}, 300_000);

afterAll(async () => {
  await redis?.stop();
  await plane?.stop();
});

step("dist's StatefulSet names neither replicas nor a partition: the API's defaults until the tool sets them", async () => {
  const manifest = statefulSetOf(NAME).spec as any;
  expect(manifest.replicas).toBeUndefined();
  expect(manifest.updateStrategy).toEqual({ type: 'RollingUpdate' });
  const sts = await live();
  // No partition is partition 0 to the controller; nothing to hold yet, no cluster exists.
  expect([sts.spec.replicas, partitionOf(sts)]).toEqual([1, undefined]);
});

step('grow(6) as <name>-ops: partition 6 first, 6 pods Ready, members in ordinal order, the applier owns neither field', async () => {
  const members = await nodes.grow(6, log);
  expect(members.map((m) => m.address)).toEqual([0, 1, 2, 3, 4, 5].map(addressOfOrdinal));
  const sts = (await admin.call('GET', `/apis/apps/v1/namespaces/${NS}/statefulsets/${NAME}?showManagedFields=1`)) as any;
  expect([sts.spec.replicas, sts.spec.updateStrategy.rollingUpdate.partition]).toEqual([6, 6]);
  const owners = (has: (spec: any) => boolean) => (sts.metadata.managedFields as any[]).filter((f) => has(f.fieldsV1?.['f:spec'] ?? {})).map((f) => f.manager);
  // No manager at all owns spec.replicas: the applier never wrote it, and v1.35 records no entry for the scale subresource's patch.
  expect(owners((spec) => 'f:replicas' in spec)).toEqual([]);
  expect(owners((spec) => 'f:partition' in (spec['f:updateStrategy']?.['f:rollingUpdate'] ?? {}))).toEqual(['redis-keda']);
  expect([...(await pods()).keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  // Every pod on the one revision there is.
  expect(await nodes.outdated()).toEqual([]);
});

step('a GitOps sync of a changed template (Argo CD and Flux server-side apply, kubectl client-side apply) reverts neither field and rolls no pod', async () => {
  const before = await pods();
  await gitOpsApply(withTemplateAnnotation(statefulSetOf(NAME), 'argo'), 'argocd-controller');
  await gitOpsApply(withTemplateAnnotation(statefulSetOf(NAME), 'flux'), 'kustomize-controller');
  await cluster().kubectl.ok(['apply', '-f', '-'], JSON.stringify(withTemplateAnnotation(statefulSetOf(NAME), 'client-side')));
  const sts = await live();
  expect([sts.spec.replicas, partitionOf(sts)]).toEqual([6, 6]);
  expect(sts.status?.updateRevision).not.toEqual(sts.status?.currentRevision);
  // A second look a while later: the controller had time to roll, and did not.
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await pods();
  expect([...after.values()].map((p) => p.metadata.uid)).toEqual([...before.values()].map((p) => p.metadata.uid));
  expect((await nodes.outdated()).map((m) => m.address)).toEqual([5, 4, 3, 2, 1, 0].map(addressOfOrdinal));
});

step('the negative control: a manifest that names replicas, force-applied after a scale, takes the pods away again', async () => {
  const manifest = statefulSetOf(OTHER) as any;
  await gitOpsApply({ ...manifest, spec: { ...manifest.spec, replicas: 3 } }, 'argocd-controller');
  await admin.scaleStatefulSet(NS, OTHER, 5);
  expect((await live(OTHER)).spec.replicas).toBe(5);
  await gitOpsApply({ ...manifest, spec: { ...manifest.spec, replicas: 3 } }, 'argocd-controller');
  expect((await live(OTHER)).spec.replicas).toBe(3);
});

step('migrating an Application whose manifest named replicas: the omitting manifest resets them unless another manager server-side applied them first', async () => {
  const manifest = statefulSetOf(OTHER) as any;
  // Owned by argocd-controller alone (the control above): the omitting manifest removes the field, the API's default 1 returns.
  await gitOpsApply(manifest, 'argocd-controller');
  const dropped = (await live(OTHER)).spec.replicas;
  await gitOpsApply({ ...manifest, spec: { ...manifest.spec, replicas: 3 } }, 'argocd-controller');
  // An update (patch) to the same value takes no ownership: dropped again.
  await cluster().kubectl.ok(['patch', 'statefulset', OTHER, '-n', NS, '--field-manager=redis-keda', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
  await gitOpsApply(manifest, 'argocd-controller');
  const patchedFirst = (await live(OTHER)).spec.replicas;
  await gitOpsApply({ ...manifest, spec: { ...manifest.spec, replicas: 3 } }, 'argocd-controller');
  // A server-side apply of just the field by another manager, same value: shared ownership, so the omitting manifest leaves it.
  const takeOver = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: OTHER, namespace: NS }, spec: { replicas: 3 } };
  await cluster().kubectl.ok(['apply', '--server-side', '--field-manager=redis-keda', '-f', '-'], JSON.stringify(takeOver));
  await gitOpsApply(manifest, 'argocd-controller');
  const appliedFirst = (await live(OTHER)).spec.replicas;
  expect({ dropped, patchedFirst, appliedFirst }).toEqual({ dropped: 1, patchedFirst: 1, appliedFirst: 3 });
});

step('restart(highest outdated) lowers the partition by one and waits for that pod Ready on the new revision; the others stay', async () => {
  const before = await pods();
  const revision = (await live()).status?.updateRevision;
  for (const ordinal of [5, 4]) {
    const address = await nodes.restart({ host: hostOfOrdinal(ordinal), port: REDIS_PORT, address: addressOfOrdinal(ordinal) }, log);
    expect(address.address).toBe(addressOfOrdinal(ordinal));
    expect(partitionOf(await live())).toBe(ordinal);
  }
  const after = await pods();
  expect([4, 5].map((i) => after.get(i)?.metadata.labels?.[REVISION_LABEL])).toEqual([revision, revision]);
  expect([4, 5].map((i) => after.get(i)?.metadata.uid === before.get(i)?.metadata.uid)).toEqual([false, false]);
  expect([0, 1, 2, 3].map((i) => after.get(i)?.metadata.uid)).toEqual([0, 1, 2, 3].map((i) => before.get(i)?.metadata.uid));
  expect((await nodes.outdated()).map((m) => m.address)).toEqual([3, 2, 1, 0].map(addressOfOrdinal));
});

step('grow(8) then shrink(6): the claims of ordinals 6 and 7 are deleted, only after their pods are gone; no other claim', async () => {
  await nodes.grow(8, log);
  expect(partitionOf(await live())).toBe(8);
  const seen = await claims();
  expect(['data-rc-6', 'data-rc-7'].map((c) => seen.get(c)?.status?.phase)).toEqual(['Bound', 'Bound']);
  // Every 50 ms while shrink runs: while a pod of ordinal 6 or 7 exists, both its claims must be there untouched.
  const { violations, polls } = await watchClaimsWhilePodsExist(admin, NS, NAME, [6, 7], 50, () => nodes.shrink(6, log));
  expect(violations).toEqual([]);
  expect(polls).toBeGreaterThan(1);
  expect([...(await pods()).keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  const left = [...(await claims()).entries()]
    .filter(([, c]) => !c.metadata.deletionTimestamp)
    .map(([name]) => name)
    .sort();
  expect(left).toEqual(['data-other-0', 'data-other-1', 'data-other-2', 'data-other-3', 'data-other-4', ...[0, 1, 2, 3, 4, 5].map((i) => `data-rc-${i}`)]);
});

step('the CLI in Kubernetes mode as <name>-ops: create, then check and fix --statefulset find the 6 pods by their IPs, 3 masters + 3 replicas, ok', async () => {
  const six = [0, 1, 2, 3, 4, 5].map(addressOfOrdinal);
  const created = await cli(['create', '--nodes', six.join(',')]);
  expect(created.code).toBe(0);
  const checked = await cli(['check']);
  expect(checked.code).toBe(0);
  const report = checked.json as CheckReport;
  expect({ ok: report.ok, nodes: report.nodes, covered: report.slots.covered }).toEqual({ ok: true, nodes: { listed: 6, reachable: 6 }, covered: 16384 });
  expect(report.masters.flatMap((m) => [m.node, ...m.replicas]).sort()).toEqual([...six].sort());
  const fixed = await cli(['fix']);
  expect({ code: fixed.code, changed: (fixed.json as { changed: boolean }).changed }).toEqual({ code: 0, changed: false });
});

step("exec --statefulset --ordinals 0,1,2 runs on pods rc-0, rc-1, rc-2 (each reply that server's own id); an ordinal past the pods is a usage error", async () => {
  const ids = await Promise.all([0, 1, 2].map((i) => myId(servers()[i])));
  const ran = await cli(['exec', '--ordinals', '0,1,2', 'CLUSTER', 'MYID']);
  expect(ran.code).toBe(0);
  expect(ran.json).toEqual(Object.fromEntries([0, 1, 2].map((i) => [addressOfOrdinal(i), { reply: ids[i] }])));
  const past = await cli(['exec', '--ordinals', '6', 'PING']);
  expect(past.code).toBe(2);
  expect(past.stderr).toContain('must be distinct pod ordinals from 0 to 5');
});

step('reconcile --statefulset: a replica pod that lost its volume (same IP, new node id) is met, the old id forgotten, and it replicates again', async () => {
  const before = (await cli(['check'])).json as CheckReport;
  const lost = before.masters[0].replicas[0];
  const server = servers().find((n) => n.address === lost)!;
  const oldId = await myId(server);
  await server.kill();
  for (const file of ['nodes.conf', 'appendonlydir']) rmSync(join(server.dir, file), { recursive: true, force: true });
  await server.restart();
  const broken = await cli(['check']);
  expect(broken.code).toBe(1);
  const reconciled = await cli(['reconcile']);
  expect(reconciled.code).toBe(0);
  expect((reconciled.json as { actions: unknown[] }).actions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ action: 'meet', node: lost }),
      expect.objectContaining({ action: 'forget', id: oldId }),
      expect.objectContaining({ action: 'replicate', node: lost }),
    ]),
  );
  const after = (await cli(['check'])).json as CheckReport;
  expect(after.ok).toBe(true);
  expect(await myId(server)).not.toBe(oldId);
  expect(after.masters.flatMap((m) => m.replicas)).toContain(lost);
});

step('rebalance --statefulset moves slots among the pods: nothing on a balanced cluster, 8192 to a master of weight 2, and back', async () => {
  const balanced = await cli(['rebalance']);
  expect({ code: balanced.code, changed: (balanced.json as { changed: boolean }).changed }).toEqual({ code: 0, changed: false });
  const heavy = ((await cli(['check'])).json as CheckReport).masters[0].node;
  const weighted = await cli(['rebalance', '--weights', `${heavy}=2`]);
  expect(weighted.code).toBe(0);
  const slotsOf = (report: CheckReport) => Object.fromEntries(report.masters.map((m) => [m.node, m.slots]));
  const shares = slotsOf((weighted.json as { report: CheckReport }).report);
  expect(shares[heavy]).toBe(8192);
  expect(Object.values(shares).sort((a, b) => a - b)).toEqual([4096, 4096, 8192]);
  const back = await cli(['rebalance']);
  expect(back.code).toBe(0);
  expect(Object.values(slotsOf((back.json as { report: CheckReport }).report)).sort((a, b) => a - b)).toEqual([5461, 5461, 5462]);
});

step('consistency-check --statefulset seeds from the pods: 2 s of INCRs, none lost', async () => {
  const checked = await cli(['consistency-check', '--duration', '2', '--keys', '50', '--rate', '200', '--metrics-port', '0']);
  expect(checked.code).toBe(0);
  const summary = checked.json as { summary: boolean; writes: number; lostWrites: number };
  expect(summary.summary).toBe(true);
  expect(summary.writes).toBeGreaterThan(100);
  expect(summary.lostWrites).toBe(0);
});

step('a shrink interrupted after the scale (the tool crashed) finishes on a rerun: the left claim is found and deleted', async () => {
  await admin.scaleStatefulSet(NS, NAME, 5);
  const deadline = Date.now() + 30_000;
  while ((await pods()).has(5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const standing = async (claim: string) => {
    const found = (await claims()).get(claim);
    return found !== undefined && !found.metadata.deletionTimestamp;
  };
  expect(await standing('data-rc-5')).toBe(true);
  await nodes.shrink(5, log);
  // Deleted: gone, or going once the PVC protection controller removes its finalizer.
  expect(await standing('data-rc-5')).toBe(false);
  expect((await nodes.members()).map((m) => m.address)).toEqual([0, 1, 2, 3, 4].map(addressOfOrdinal));
});

step('RBAC of <name>-ops: enough for the above, and no more', async () => {
  expect(await forbidden(() => ops.getStatefulSet(NS, OTHER))).toBe(403);
  expect(await forbidden(() => ops.scaleStatefulSet(NS, OTHER, 4))).toBe(403);
  expect(await forbidden(() => ops.setPartition(NS, OTHER, 0))).toBe(403);
  expect(await forbidden(() => ops.deleteClaim(NS, 'data-other-0'))).toBe(403);
  // Beyond maxMasters x (1 + replicasPerMaster) = 8 pods: not this Role's claim.
  expect(await forbidden(() => ops.deleteClaim(NS, 'data-rc-8'))).toBe(403);
  expect(await forbidden(() => ops.call('DELETE', `/api/v1/namespaces/${NS}/pods/rc-0`))).toBe(403);
  expect(await forbidden(() => ops.call('GET', `/api/v1/namespaces/${NS}/secrets`))).toBe(403);
  expect(await forbidden(() => ops.call('GET', `/api/v1/namespaces/default/pods`))).toBe(403);
  expect(await forbidden(() => ops.call('DELETE', `/apis/apps/v1/namespaces/${NS}/statefulsets/${NAME}`))).toBe(403);
  // And what it needs answers (200), the claim of an ordinal it may delete but which is gone: 404, not 403.
  expect(await forbidden(() => ops.listPods(NS, { 'app.kubernetes.io/name': 'x' }))).toBe(200);
  expect(await ops.deleteClaim(NS, 'data-rc-7')).toBe(false);
  expect((await admin.call('GET', `/api/v1/namespaces/${NS}/persistentvolumeclaims/data-other-0`)) as PersistentVolumeClaim).toMatchObject({ metadata: { name: 'data-other-0' } });
});

step('in-cluster config: the service account files and KUBERNETES_SERVICE_HOST/PORT reach the same API as <name>-ops', async () => {
  const dir = mkdtempSync(join(cluster().dir, 'sa-'));
  const token = (await cluster().kubectl.ok(['create', 'token', `${NAME}-ops`, '-n', NS])).trim();
  const { readFileSync } = await import('fs');
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), readFileSync(cluster().access.caFile));
  writeFileSync(join(dir, 'namespace'), NS);
  const server = new URL(cluster().access.server);
  const access = inClusterAccess({ KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port }, dir);
  expect(access.namespace).toBe(NS);
  const api = new KubernetesApi(access);
  expect((await api.getStatefulSet(NS, NAME)).spec.replicas).toBe(5);
  expect(await forbidden(() => api.getStatefulSet(NS, OTHER))).toBe(403);
});
