/**
 * A RedisCluster end to end on the live control plane, its pods run by the node agent: every Redis pod
 * is a real redis-server (and redis_exporter) on a loopback address of its own, its claim a folder that
 * outlives the pod. The chart's create Job (a runtime-image pod the agent runs) forms the cluster; then,
 * with the consistency checker writing all along, `redis-keda cluster scale` to 4 masters and back to 3,
 * and `cluster upgrade` after a pod-template change, each a child process of the CLI acting through the
 * API as the construct's operations ServiceAccount. After each step `cluster check` passes, no
 * acknowledged write is lost, and every restarted pod keeps its node id.
 *
 * Addressing: the host has no cluster DNS. The agent writes a pod's address where the pod's DNS name
 * stands (the create Job's node list, `--cluster-announce-hostname`), and the tool runs with
 * `--node-addressing pod-ip`; `cluster check` and the checker are given the pods' IPs.
 * Credentials: the agent mounts no service-account tokens, so the test adds to the create Job a
 * kubeconfig (a Secret holding a TokenRequest token of `<name>-ops`) and `KUBECONFIG`, plus
 * `CLUSTER_NODE_ADDRESSING=pod-ip`; the Job's command, node list and the rest of its pod are the chart's.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { RedisCluster } from '../constructs';
import { KubernetesApi, kubeconfigAccess, PersistentVolumeClaim, Pod, REVISION_LABEL } from '../runtime/cluster/kubernetes/api-client';
import { ClusterCommands, Commands, Env, REDIS_PORT } from '../runtime/contract';
import { ProcessResult, RunningProcess, runCli, startCli } from '../test/support/cli';
import { freePort } from '../test/support/redis-server';
import { ChartObject, createSecret, objectsOf, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { NodeAgent } from './harness/node-agent';
import { claimsOf, preBoundVolumes, statefulSetPods, watchClaimsWhilePodsExist, withTemplateAnnotation } from './harness/redis-cluster';
import { scenarioSteps } from './harness/steps';
import { waitFor } from './harness/wait';

const NS = 'rc';
const NAME = 'rc';
const PASSWORD = `pw-${process.pid}-${Date.now()}`;
/** The Role covers the claims of 4 masters x 2 pods. */
const MAX_PODS = 8;
const KUBECONFIG_DIR = '/var/run/e2e-kubeconfig';
const CLI_TIMEOUT_MS = 240_000;

let plane: ControlPlane | undefined;
let agent: NodeAgent | undefined;
const step = scenarioSteps(() => plane);
let objects: ChartObject[] = [];
let admin: KubernetesApi;
let opsKubeconfig = '';
let checker: RunningProcess | undefined;
const figures: Record<string, unknown> = {};

const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};

/** A PersistentVolume pre-bound to each claim the StatefulSet will make (no provisioner on this plane; the agent keeps the data). */
const volumes = () =>
  preBoundVolumes(
    NS,
    Array.from({ length: MAX_PODS }, (_, i) => `data-${NAME}-${i}`),
    '64Mi',
  );

/** The create Job with what the agent cannot give it: API credentials (a kubeconfig Secret) and pod-IP addressing. */
function withKubeconfig(job: ChartObject): ChartObject {
  const spec = (job.spec as any).template.spec;
  const [container, ...others] = spec.containers;
  return {
    ...job,
    spec: {
      ...(job.spec as any),
      template: {
        ...(job.spec as any).template,
        spec: {
          ...spec,
          volumes: [...(spec.volumes ?? []), { name: 'e2e-kubeconfig', secret: { secretName: `${NAME}-ops-kubeconfig` } }],
          containers: [
            {
              ...container,
              env: [...container.env, { name: Env.KUBECONFIG, value: `${KUBECONFIG_DIR}/config` }, { name: Env.CLUSTER_NODE_ADDRESSING, value: 'pod-ip' }],
              volumeMounts: [...(container.volumeMounts ?? []), { name: 'e2e-kubeconfig', mountPath: KUBECONFIG_DIR, readOnly: true }],
            },
            ...others,
          ],
        },
      },
    },
  };
}

const pods = (): Promise<Map<number, Pod>> => statefulSetPods(admin, NS, NAME);
const claims = (): Promise<Map<string, PersistentVolumeClaim>> => claimsOf(admin, NS);

/** `ip:6379` of ordinals 0..count-1, from the pods' status. */
async function addresses(count: number): Promise<string[]> {
  const byOrdinal = await pods();
  return Array.from({ length: count }, (_, i) => {
    const ip = byOrdinal.get(i)?.status?.podIP;
    if (!ip) throw new Error(`pod ${NAME}-${i} has no IP`);
    return `${ip}:${REDIS_PORT}`;
  });
}

const env = { [Env.REDIS_PASSWORD]: PASSWORD, LOG_FORMAT: 'json' };
const toolArgs = () => ['--statefulset', NAME, '--namespace', NS, '--kubeconfig', opsKubeconfig, '--node-addressing', 'pod-ip', '--replicas-per-master', '1', '--timeout', '120'];

function parsed(result: ProcessResult, what: string): any {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr.slice(-4000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

/** `cluster check --nodes <the pods' IPs>`: ok, every slot covered, `masters` masters each with one replica. */
async function expectHealthy(count: number, masters: number): Promise<void> {
  const report = parsed(
    await runCli([Commands.CLUSTER, ClusterCommands.CHECK, '--nodes', (await addresses(count)).join(','), '--replicas-per-master', '1'], { env, timeoutMs: 60_000 }),
    'cluster check',
  );
  expect({ ok: report.ok, slots: report.slots, masters: report.masters.length, problems: report.problems }).toEqual({
    ok: true,
    slots: { covered: 16384, uncovered: 0, disputed: 0, open: 0 },
    masters,
    problems: [],
  });
}

interface Tick {
  readonly writes: number;
  readonly lostWrites: number;
  readonly notAcknowledgedWrites: number;
  readonly gapSinceLastTickMs: number;
}

function ticks(): Tick[] {
  return checker!
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Tick);
}

/** Runs a step with the checker writing, and records its lost and not-acknowledged writes and its longest write gap. */
async function measured(name: string, body: () => Promise<void>): Promise<void> {
  const before = ticks();
  const from = before.length;
  const started = Date.now();
  await body();
  // One more report line, so the step's last second is in it.
  await waitFor('a report line of the consistency checker after the step', () => (ticks().length > from + 1 ? true : undefined), 10_000, 100);
  const during = ticks().slice(from);
  const last = during[during.length - 1];
  const base = before[before.length - 1] ?? { writes: 0, lostWrites: 0, notAcknowledgedWrites: 0 };
  figures[name] = {
    seconds: Math.round((Date.now() - started) / 100) / 10,
    writes: last.writes - base.writes,
    lost: last.lostWrites - base.lostWrites,
    notAcknowledged: last.notAcknowledgedWrites - base.notAcknowledgedWrites,
    longestWriteGapMs: Math.max(...during.map((t) => t.gapSinceLastTickMs)),
  };
  expect((figures[name] as { lost: number }).lost).toBe(0);
  expect((figures[name] as { writes: number }).writes).toBeGreaterThan(0);
}

async function nodeIds(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (const address of await addresses(count)) {
    const [host, port] = address.split(':');
    const client = new Redis({ host, port: Number(port), password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      ids.push(String(await client.call('CLUSTER', 'MYID')));
    } finally {
      client.disconnect();
    }
  }
  return ids;
}

beforeAll(async () => {
  plane = await ControlPlane.start({ kwokNodes: 0 });
  agent = await NodeAgent.start(plane);
  await plane.createRestrictedNamespace(NS);
  await createSecret(plane, NS, `${NAME}-auth`, { password: PASSWORD });
  objects = synthApp(plane, (app) => {
    const chart = new Chart(app, 'cluster', { namespace: NS });
    new RedisCluster(chart, 'rc', {
      name: NAME,
      masters: 3,
      replicasPerMaster: 1,
      password: { secret: kplus.Secret.fromSecretName(chart, 'auth', `${NAME}-auth`), key: 'password' },
      resources: { cpu: { request: kplus.Cpu.millis(20) }, memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) } },
      persistence: { size: Size.mebibytes(64) },
      exporter: {},
      operations: { maxMasters: 4 },
    });
  });
  await plane.kubectl.apply(volumes());
  const applied = objects.map((o) => (o.kind === 'Job' ? withKubeconfig(o) : o));
  await plane.kubectl.apply(applied, 'e2e-chart');
  admin = new KubernetesApi(kubeconfigAccess(join(plane.dir, 'admin.kubeconfig')));
  const token = (await plane.kubectl.ok(['create', 'token', `${NAME}-ops`, '-n', NS, '--duration=1h'])).trim();
  opsKubeconfig = plane.kubeconfig(`${NAME}-ops`, { token });
  await createSecret(plane, NS, `${NAME}-ops-kubeconfig`, { config: readFileSync(opsKubeconfig, 'utf8') });
}, 300_000);

afterAll(async () => {
  if (checker && checker.child.exitCode === null) checker.child.kill('SIGKILL');
  await agent?.stop();
  await plane?.stop();
  if (Object.keys(figures).length) process.stdout.write(JSON.stringify({ redisClusterPods: figures }) + '\n');
});

step(
  "the chart's create Job, run by the agent, grows the StatefulSet to 6 pods and forms 3 masters with a replica each",
  async () => {
    const job = await waitFor(
      'Job rc-create to succeed',
      async () => {
        const found = (await admin.call('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${NAME}-create`)) as any;
        if ((found.status?.failed ?? 0) > 0) throw new Error(`Job ${NAME}-create failed a pod: ${JSON.stringify(found.status)}`);
        return found.status?.succeeded === 1 ? found : undefined;
      },
      180_000,
      500,
    );
    expect(job.status.succeeded).toBe(1);
    const byOrdinal = await pods();
    expect([...byOrdinal.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // Each pod on an address of its own, both containers Ready.
    const ips = [...byOrdinal.values()].map((p) => p.status?.podIP);
    expect(new Set(ips).size).toBe(6);
    for (const ip of ips) expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect([...byOrdinal.values()].every((p) => (p.status as any).containerStatuses.every((c: any) => c.ready))).toBe(true);
    const sts = await admin.getStatefulSet(NS, NAME);
    expect([sts.spec.replicas, sts.spec.updateStrategy?.rollingUpdate?.partition]).toEqual([6, 6]);
    await expectHealthy(6, 3);
    // The exporter sidecar serves the node it sits beside.
    const metrics = await fetch(`http://${ips[0]}:9121/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^redis_up 1$/m);
    expect(metrics).toMatch(/^redis_cluster_enabled 1$/m);
  },
  240_000,
);

step('the consistency checker writes through the cluster', async () => {
  checker = startCli(
    [Commands.CLUSTER, ClusterCommands.CONSISTENCY_CHECK, '--nodes', (await addresses(6)).join(','), '--keys', '200', '--rate', '300', '--metrics-port', String(await freePort())],
    { env },
  );
  await waitFor('the checker to acknowledge writes', () => (ticks().some((t) => t.writes > 0) ? true : undefined), 30_000, 200);
});

step(
  'cluster scale --masters 4: the StatefulSet grows to 8 pods, the new masters get their slots and replicas, no write lost',
  async () => {
    await measured('scaleTo4', async () => {
      const result = parsed(
        await runCli([Commands.CLUSTER, ClusterCommands.SCALE, ...toolArgs(), '--masters', '4'], { env, timeoutMs: CLI_TIMEOUT_MS }),
        'cluster scale --masters 4',
      );
      expect(result.report.ok).toBe(true);
    });
    expect([...(await pods()).keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await expectHealthy(8, 4);
  },
  CLI_TIMEOUT_MS + 30_000,
);

step(
  'cluster scale --masters 3: drained first, then shrunk; the claims of ordinals 6 and 7 deleted only after their pods are gone',
  async () => {
    // Every 100 ms while the shrink runs: while a pod of ordinal 6 or 7 exists, its claim must be there untouched.
    const { violations, polls } = await watchClaimsWhilePodsExist(admin, NS, NAME, [6, 7], 100, () =>
      measured('scaleTo3', async () => {
        const result = parsed(
          await runCli([Commands.CLUSTER, ClusterCommands.SCALE, ...toolArgs(), '--masters', '3'], { env, timeoutMs: CLI_TIMEOUT_MS }),
          'cluster scale --masters 3',
        );
        expect(result.report.ok).toBe(true);
      }),
    );
    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(1);
    expect([...(await pods()).keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const left = [...(await claims()).entries()].filter(([, c]) => !c.metadata.deletionTimestamp).map(([name]) => name);
    expect(left.sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `data-${NAME}-${i}`));
    await expectHealthy(6, 3);
  },
  CLI_TIMEOUT_MS + 30_000,
);

step(
  'cluster upgrade after a pod-template change: every pod restarted on the new revision, each with its node id and its data',
  async () => {
    const idsBefore = await nodeIds(6);
    const uidsBefore = [...(await pods()).entries()].sort(([a], [b]) => a - b).map(([, p]) => p.metadata.uid);
    const [sts] = objectsOf(objects, 'StatefulSet', NAME);
    await cluster().kubectl.apply([withTemplateAnnotation(sts, 'upgrade')], 'e2e-chart');
    await waitFor(
      'the StatefulSet controller to see the new template',
      async () => {
        const live = await admin.getStatefulSet(NS, NAME);
        return (live.status?.observedGeneration ?? 0) >= (live.metadata.generation ?? 0) && live.status?.updateRevision !== live.status?.currentRevision ? true : undefined;
      },
      30_000,
    );
    await measured('upgrade', async () => {
      const result = parsed(await runCli([Commands.CLUSTER, ClusterCommands.UPGRADE, ...toolArgs()], { env, timeoutMs: CLI_TIMEOUT_MS }), 'cluster upgrade');
      expect(result.report.ok).toBe(true);
      expect(result.steps.length).toBe(6);
    });
    const live = await admin.getStatefulSet(NS, NAME);
    const after = [...(await pods()).entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    expect(after.map((p) => p.metadata.labels?.[REVISION_LABEL])).toEqual(Array(6).fill(live.status?.updateRevision));
    expect(after.map((p, i) => p.metadata.uid === uidsBefore[i])).toEqual(Array(6).fill(false));
    expect(live.spec.updateStrategy?.rollingUpdate?.partition).toBe(6);
    expect(await nodeIds(6)).toEqual(idsBefore);
    await expectHealthy(6, 3);
  },
  CLI_TIMEOUT_MS + 60_000,
);

step('the checker stops: no acknowledged write lost over the whole run', async () => {
  checker!.child.kill('SIGTERM');
  const result = await checker!.done;
  expect(result.code).toBe(0);
  const summary = JSON.parse(result.stdout.trim().split('\n').pop()!);
  figures.total = {
    writes: summary.writes,
    reads: summary.reads,
    failedWrites: summary.failedWrites,
    lost: summary.lostWrites,
    notAcknowledged: summary.notAcknowledgedWrites,
    longestWriteGapMs: summary.longestWriteGapMs,
  };
  expect(summary.summary).toBe(true);
  expect(summary.lostWrites).toBe(0);
});
