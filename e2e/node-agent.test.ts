/**
 * The node agent on a live control plane (no KWOK Node: every pod is scheduled onto the agent's):
 * pods of the runtime image run as real `redis-keda` processes against a real redis-server, and
 * what the agent reports through the API is checked value by value.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import Redis from 'ioredis';
import { DEFAULT_RUNTIME_IMAGE, queueKeys, VERSION } from '../runtime/contract';
import { RedisServer, startRedis } from '../test/support/redis-server';
import { ControlPlane } from './harness/control-plane';
import { printLogsOnFailure } from './harness/logs';
import { NodeAgent, runsOnAgent } from './harness/node-agent';
import { PodAddresses, podDnsName, redisCliOnAddress, redisServerArgv } from './harness/node-agent/redis-pods';
import { ApiClient } from './harness/node-agent/api';
import { NODE_ALLOCATABLE } from './harness/node-agent/node-status';
import { adminApi, watchObjects } from './harness/watch';
import { waitFor, httpGet } from './harness/wait';

const NS = 'agent';
const PASSWORD = `pw-${process.pid}-${Date.now()}`;

let plane: ControlPlane | undefined;
let agent: NodeAgent;
let server: RedisServer;
let redis: Redis;
let admin: ApiClient;
const it = printLogsOnFailure(test, () => plane);
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};

/** A pod of the runtime image; `container` is merged into its one container `c`. */
function pod(name: string, container: object, spec: object = {}, metadata: object = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, ...metadata },
    spec: { automountServiceAccountToken: false, restartPolicy: 'Never', containers: [{ name: 'c', image: DEFAULT_RUNTIME_IMAGE, ...container }], ...spec },
  };
}

const redisEnv = (list: string) => [
  { name: 'REDIS_HOST', value: '127.0.0.1' },
  { name: 'REDIS_PORT', value: String(server.port) },
  { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
  { name: 'LIST_NAME', value: list },
];

async function waitPod(name: string, what: string, probe: (pod: any) => boolean, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `pod ${name}: ${what}`,
    async () => {
      const p = await admin.find(`/api/v1/namespaces/${NS}/pods/${name}`);
      return p && probe(p) ? p : undefined;
    },
    timeoutMs,
    100,
  );
}

const condition = (p: any, type: string) => p.status?.conditions?.find((c: any) => c.type === type)?.status;

/** The handler module of the env test: writes what the program sees to OUT_FILE. */
const PROBE_HANDLER = `
const fs = require('fs');
const NAMES = (process.env.REPORT || '').split(',');
module.exports = async function handle(event) {
  const env = {};
  for (const name of NAMES) if (process.env[name] !== undefined) env[name] = process.env[name];
  const creds = process.env.CREDS_FILE ? fs.readFileSync(process.env.CREDS_FILE, 'utf8') : undefined;
  fs.writeFileSync(process.env.OUT_FILE, JSON.stringify({ event: event.id, env, creds }));
};
`;

beforeAll(async () => {
  server = await startRedis({ password: PASSWORD });
  redis = new Redis(server.port, '127.0.0.1', { password: PASSWORD, protocol: 2 });
  plane = await ControlPlane.start({ kwokNodes: 0 });
  agent = await NodeAgent.start(plane);
  admin = adminApi(plane);
  await plane.kubectl.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redis-auth', namespace: NS }, stringData: { password: PASSWORD } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'handler', namespace: NS }, data: { 'probe.js': PROBE_HANDLER, greeting: 'hello from a ConfigMap' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra', namespace: NS }, data: { A: 'one', B: 'two' } },
  ]);
  await waitFor(`ServiceAccount ${NS}/default`, async () => ((await plane!.kubectl.run(['get', 'serviceaccount', 'default', '-n', NS])).code === 0 ? true : undefined), 30_000);
}, 300_000);

afterAll(async () => {
  admin?.close();
  await agent?.stop();
  await plane?.stop();
  redis?.disconnect();
  await server?.stop();
});

describe('the Node', () => {
  it('is registered Ready, untainted, with a Lease the agent renews', async () => {
    const node = await cluster().kubectl.getJson(['node', agent.nodeName]);
    // The API server adds the beta labels of os and arch.
    expect(node.metadata.labels).toEqual({
      'kubernetes.io/hostname': 'agent-node',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
    });
    expect(node.spec.taints).toBeUndefined();
    expect(node.status.allocatable).toEqual(NODE_ALLOCATABLE);
    expect(node.status.conditions.find((c: any) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    const lease = await cluster().kubectl.getJson(['lease', agent.nodeName, '-n', 'kube-node-lease']);
    expect(lease.spec).toMatchObject({ holderIdentity: 'agent-node', leaseDurationSeconds: 40 });
    const first = Date.parse(lease.spec.renewTime);
    const renewed = await waitFor(
      'the Lease renewed',
      async () => {
        const again = await cluster().kubectl.getJson(['lease', agent.nodeName, '-n', 'kube-node-lease']);
        return Date.parse(again.spec.renewTime) > first ? again : undefined;
      },
      15_000,
    );
    expect(renewed.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'agent-node', uid: node.metadata.uid }]);
  });

  test('runs only pods whose every container is the runtime image, or the Redis image (with the exporter beside it)', () => {
    const withImage = (...images: string[]) => ({ spec: { containers: images.map((image) => ({ image })) } });
    expect(runsOnAgent(withImage(DEFAULT_RUNTIME_IMAGE))).toBe(true);
    expect(runsOnAgent(withImage('ghcr.io/cdk8s-redis-keda/redis-keda@sha256:0123'))).toBe(true);
    expect(runsOnAgent(withImage(DEFAULT_RUNTIME_IMAGE, 'redis:7.4.2'))).toBe(false);
    expect(runsOnAgent(withImage('ghcr.io/cdk8s-redis-keda/redis-keda-other:1'))).toBe(false);
    expect(runsOnAgent(withImage('redis:7.4.2', 'oliver006/redis_exporter:v1.67.0'))).toBe(true);
    expect(runsOnAgent(withImage('docker.io/library/redis:7.2'))).toBe(true);
    expect(runsOnAgent(withImage('oliver006/redis_exporter:v1.67.0'))).toBe(false);
    expect(runsOnAgent(withImage('bitnami/redis:7.2'))).toBe(false);
  });

  test("the Redis pods' rules: one address per pod name, pod DNS names, redis-server's and redis-cli's address", () => {
    const addresses = new PodAddresses(() => 0.5);
    expect([addresses.of('a', 'rc-0'), addresses.of('a', 'rc-1'), addresses.of('b', 'rc-0'), addresses.of('a', 'rc-0')]).toEqual([
      '127.175.128.2',
      '127.175.128.3',
      '127.175.128.4',
      '127.175.128.2',
    ]);
    expect(podDnsName('rc-0.rc-headless.ns.svc')).toEqual({ pod: 'rc-0', service: 'rc-headless', namespace: 'ns' });
    expect(podDnsName('rc-0.rc-headless.ns.svc.cluster.local')).toEqual({ pod: 'rc-0', service: 'rc-headless', namespace: 'ns' });
    expect([podDnsName('rc.ns.svc'), podDnsName('a.b.c.d'), podDnsName('127.0.0.1')]).toEqual([undefined, undefined, undefined]);
    expect(redisServerArgv(['/pod/redis.conf', '--bind', '0.0.0.0', '::', '--maxmemory', '1mb'], '127.9.9.2', '/pod/copy.conf')).toEqual([
      '/pod/copy.conf',
      '--maxmemory',
      '1mb',
      '--bind',
      '127.9.9.2',
      '--cluster-announce-ip',
      '127.9.9.2',
    ]);
    expect(redisCliOnAddress('redis-cli -p 6379 ping | grep -q PONG', '127.9.9.2')).toBe('redis-cli -h 127.9.9.2 -p 6379 ping | grep -q PONG');
  });
});

describe('a pod of the runtime image', () => {
  it('gets its env resolved (Secret, ConfigMap, downward API, resources, envFrom, $(VAR)) and its volumes as files, as the program sees them', async () => {
    const list = 'env-list';
    await redis.lpush(list, JSON.stringify({ id: 'env-1', wait: 0 }));
    const report = [
      'POD_NAME',
      'POD_UID',
      'POD_NS',
      'NODE',
      'POD_IP',
      'TEAM',
      'NOTE',
      'CPU_MILLIS',
      'MEM_MI',
      'MEM_LIMIT',
      'GREETING',
      'SECRET',
      'EXPANDED',
      'ESCAPED',
      'X_A',
      'X_B',
      'OPTIONAL',
      'HOSTNAME',
    ];
    await cluster().kubectl.apply([
      pod(
        'env',
        {
          args: ['consume', '--once', '--handler', '/etc/handler/probe.js'],
          env: [
            ...redisEnv(list),
            { name: 'REPORT', value: report.join(',') },
            { name: 'OUT_FILE', value: '/scratch/out.json' },
            { name: 'CREDS_FILE', value: '/etc/creds/pw/password' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
            { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
            { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
            { name: 'CPU_MILLIS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
            { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } } },
            { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'handler', key: 'greeting' } } },
            { name: 'SECRET', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
            { name: 'OPTIONAL', valueFrom: { secretKeyRef: { name: 'no-such-secret', key: 'x', optional: true } } },
            { name: 'EXPANDED', value: '$(POD_NAME)-in-$(POD_NS)' },
            { name: 'ESCAPED', value: '$$(POD_NAME) $(UNDEFINED)' },
          ],
          envFrom: [{ configMapRef: { name: 'extra' }, prefix: 'X_' }],
          resources: { limits: { cpu: '250m' }, requests: { cpu: '100m', memory: '64Mi' } },
          volumeMounts: [
            { name: 'handler', mountPath: '/etc/handler' },
            { name: 'creds', mountPath: '/etc/creds', readOnly: true },
            { name: 'scratch', mountPath: '/scratch' },
          ],
        },
        {
          volumes: [
            { name: 'handler', configMap: { name: 'handler', items: [{ key: 'probe.js', path: 'probe.js' }] } },
            { name: 'creds', secret: { secretName: 'redis-auth', items: [{ key: 'password', path: 'pw/password', mode: 0o400 }] } },
            { name: 'scratch', emptyDir: {} },
          ],
        },
        { labels: { team: 'queue' }, annotations: { note: 'from the downward API' } },
      ),
    ]);
    const done = await waitPod('env', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    const seen = agent.pod(NS, 'env')!;
    const out = JSON.parse(readFileSync(join(seen.volumes.scratch, 'out.json'), 'utf8'));
    expect(out).toEqual({
      event: 'env-1',
      creds: PASSWORD,
      env: {
        POD_NAME: 'env',
        POD_UID: done.metadata.uid,
        POD_NS: NS,
        NODE: 'agent-node',
        POD_IP: '127.0.0.1',
        TEAM: 'queue',
        NOTE: 'from the downward API',
        CPU_MILLIS: '250',
        MEM_MI: '64',
        // No memory limit: the Node's allocatable (64Gi), in bytes.
        MEM_LIMIT: String(64 * 2 ** 30),
        GREETING: 'hello from a ConfigMap',
        SECRET: PASSWORD,
        EXPANDED: 'env-in-agent',
        ESCAPED: '$(POD_NAME) $(UNDEFINED)',
        X_A: 'one',
        X_B: 'two',
        HOSTNAME: 'env',
      },
    });
    // The volumes: only the items asked for, with their mode; the mount paths in args and env mapped to them.
    expect(readFileSync(join(seen.volumes.handler, 'probe.js'), 'utf8')).toBe(PROBE_HANDLER);
    expect(existsSync(join(seen.volumes.handler, 'greeting'))).toBe(false);
    expect(existsSync(join(seen.volumes.creds, 'pw', 'password'))).toBe(true);
    const launch = seen.launches.c;
    expect(launch.args.slice(1)).toEqual(['consume', '--once', '--handler', join(seen.volumes.handler, 'probe.js')]);
    expect(launch.env.OUT_FILE).toBe(join(seen.volumes.scratch, 'out.json'));
    expect(launch.env.CREDS_FILE).toBe(join(seen.volumes.creds, 'pw', 'password'));
    expect(done.status.containerStatuses[0]).toMatchObject({ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect(done.status).toMatchObject({ podIP: '127.0.0.1', hostIP: '127.0.0.1' });
    expect(await redis.llen(list)).toBe(0);
    expect(await redis.zcard(queueKeys(list).inflight)).toBe(0);
  });

  it('is held with CreateContainerConfigError while a required Secret is missing, and starts once it exists', async () => {
    await cluster().kubectl.apply([pod('late', { args: ['--version'], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'later', key: 'token' } } }] })]);
    // Until the Node authorizer has seen the binding, a read is refused (403) and the agent retries,
    // as a kubelet does: wait for the state that lasts, the Secret not found.
    const held = await waitPod('late', 'waiting on the Secret', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.message === 'secret "later" not found');
    expect(held.status.phase).toBe('Pending');
    expect(held.status.containerStatuses[0].state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "later" not found' });
    await cluster().kubectl.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later', namespace: NS }, stringData: { other: 'x' } }]);
    const wrongKey = await waitPod('late', 'waiting on the key', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.message?.startsWith("couldn't"));
    expect(wrongKey.status.containerStatuses[0].state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: `couldn't find key token in Secret ${NS}/later` });
    await cluster().kubectl.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later', namespace: NS }, stringData: { token: 't' } }]);
    await waitPod('late', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    expect(cluster().logOf(`pod-${NS}-late`)).toBe(`${VERSION}\n`);
  });

  it('turns exit codes into phases and restarts as its restartPolicy says, logging to <logDir>/pod-<ns>-<name>.log', async () => {
    await cluster().kubectl.apply([
      pod('never-ok', { args: ['--version'] }),
      pod('never-fail', { args: ['no-such-command'] }),
      pod('on-failure', { args: ['no-such-command'] }, { restartPolicy: 'OnFailure' }),
      pod('on-failure-ok', { args: ['--version'] }, { restartPolicy: 'OnFailure' }),
      pod('always', { args: ['--version'] }, { restartPolicy: 'Always' }),
    ]);
    const ok = await waitPod('never-ok', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    expect(ok.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    const failed = await waitPod('never-fail', 'Failed', (p) => p.status?.phase === 'Failed');
    expect(failed.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } });
    const okOnce = await waitPod('on-failure-ok', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    expect(okOnce.status.containerStatuses[0].restartCount).toBe(0);
    const restarting = await waitPod('on-failure', 'restarted twice', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 2);
    expect(restarting.status.phase).toBe('Running');
    expect(restarting.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    const always = await waitPod('always', 'restarted twice', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 2);
    expect(always.status.phase).toBe('Running');
    expect(always.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(cluster().logOf(`pod-${NS}-never-ok`)).toBe(`${VERSION}\n`);
    expect(cluster().logOf(`pod-${NS}-never-fail`)).toContain("unknown command 'no-such-command'");
    // Every start appends to the pod's log: the restarts wrote the version again.
    await waitFor(
      'three runs in the log',
      () =>
        cluster()
          .logOf(`pod-${NS}-always`)
          .split('\n')
          .filter((line) => line === VERSION).length >= 3
          ? true
          : undefined,
      10_000,
    );
    await cluster().kubectl.ok(['delete', 'pod', 'on-failure', 'always', '-n', NS, '--wait=true', '--timeout=60s']);
  });

  it('is Ready from its HTTP readiness probe on its remapped port (by port name)', async () => {
    const list = 'http-list';
    await cluster().kubectl.apply([
      pod(
        'publisher',
        {
          args: ['publish', '--forever', '--batch', '1', '--interval', '3600'],
          env: [...redisEnv(list), { name: 'METRICS_PORT', value: '9090' }],
          ports: [{ name: 'metrics', containerPort: 9090 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 1 },
        },
        { restartPolicy: 'Always', terminationGracePeriodSeconds: 5 },
        { labels: { app: 'pub' } },
      ),
    ]);
    const ready = await waitPod('publisher', 'Ready', (p) => condition(p, 'Ready') === 'True');
    expect(ready.status.phase).toBe('Running');
    expect(condition(ready, 'ContainersReady')).toBe('True');
    const launch = agent.pod(NS, 'publisher')!.launches.c;
    const port = launch.ports[9090];
    expect(port).not.toBe(9090);
    expect(launch.env.METRICS_PORT).toBe(String(port));
    expect(await httpGet(`http://127.0.0.1:${port}/readyz`)).toMatchObject({ status: 200 });
    await waitFor('one event published', async () => ((await redis.llen(list)) === 1 ? true : undefined), 10_000);
    expect((await httpGet(`http://127.0.0.1:${port}/metrics`)).body).toMatch(/^redis_keda_events_published_total 1$/m);
  });

  it('is Ready from its exec readiness probe while its claim marker exists in its emptyDir', async () => {
    const list = 'claim-list';
    // Held 5 s: the probe (each second) and the status patches have time to show it Ready on a loaded machine.
    await redis.lpush(list, JSON.stringify({ id: 'claim-1', wait: 5 }));
    const readiness: string[] = [];
    const watch = await watchObjects<any>(cluster(), `/api/v1/namespaces/${NS}/pods?fieldSelector=metadata.name%3Dclaim`, (event) => {
      const entry = `${event.object.status?.phase}/${condition(event.object, 'Ready') ?? '-'}`;
      if (readiness[readiness.length - 1] !== entry) readiness.push(entry);
    });
    try {
      await cluster().kubectl.apply([
        pod(
          'claim',
          {
            args: ['consume', '--once'],
            env: [...redisEnv(list), { name: 'READY_FILE', value: '/run/redis-keda/claimed' }],
            volumeMounts: [{ name: 'claim', mountPath: '/run/redis-keda' }],
            readinessProbe: { exec: { command: ['cat', '/run/redis-keda/claimed'] }, periodSeconds: 1, failureThreshold: 1 },
          },
          { volumes: [{ name: 'claim', emptyDir: {} }] },
        ),
      ]);
      await waitPod('claim', 'Ready', (p) => condition(p, 'Ready') === 'True');
      const marker = join(agent.pod(NS, 'claim')!.volumes.claim, 'claimed');
      expect(JSON.parse(readFileSync(marker, 'utf8')).token).toEqual(expect.any(String));
      await waitPod('claim', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
      expect(existsSync(marker)).toBe(false);
      expect(agent.pod(NS, 'claim')!.launches.c.env.READY_FILE).toBe(marker);
    } finally {
      await watch.stop();
    }
    // Running and not Ready until the probe saw the marker, Ready while the event was held, then done.
    // (The probe may see the marker removed just before the program exits.) Pending and not Ready is left
    // out: a read of the Secret the agent retries (e.g. a 403 before the Node authorizer has the binding)
    // shows Pending/False (CreateContainerConfigError) for a second. Pending/True would still fail.
    const seen = readiness.filter((e) => e !== 'Pending/-' && e !== 'Pending/False').join(' ');
    expect(['Running/False Running/True Succeeded/False', 'Running/False Running/True Running/False Succeeded/False']).toContain(seen);
  });

  it('is stopped with SIGTERM when deleted, and removed once its program exited', async () => {
    await cluster().kubectl.ok(['delete', 'pod', 'publisher', '-n', NS, '--wait=false']);
    await waitFor('pod publisher gone', async () => ((await cluster().kubectl.run(['get', 'pod', 'publisher', '-n', NS])).code === 1 ? true : undefined), 30_000);
    const termination = agent.terminations.find((t) => t.name === 'publisher')!;
    expect(termination).toMatchObject({ namespace: NS, graceSeconds: 5, exits: { c: 'code 0' } });
    expect(termination.sigkillAt).toBeUndefined();
    expect(termination.exitedAt! - termination.sigtermAt!).toBeLessThan(5000);
    expect(cluster().logOf(`pod-${NS}-publisher`)).toContain('"msg":"publisher stopped"');
  });

  it('gets SIGKILL when its program outlives terminationGracePeriodSeconds', async () => {
    const list = 'stubborn-list';
    await redis.lpush(list, JSON.stringify({ id: 'long-1', wait: 120 }));
    await cluster().kubectl.apply([
      pod(
        'stubborn',
        {
          args: ['consume'],
          // The consumer would give its handler 60 s after SIGTERM; the pod allows 2.
          env: [...redisEnv(list), { name: 'GRACE_SECONDS', value: '60' }, { name: 'METRICS_PORT', value: '9090' }],
          ports: [{ name: 'metrics', containerPort: 9090 }],
        },
        { restartPolicy: 'Always', terminationGracePeriodSeconds: 2 },
      ),
    ]);
    await waitFor('the event leased', async () => ((await redis.zcard(queueKeys(list).inflight)) === 1 ? true : undefined), 30_000);
    const dir = agent.pod(NS, 'stubborn')!.dir;
    expect(existsSync(dir)).toBe(true);
    await cluster().kubectl.ok(['delete', 'pod', 'stubborn', '-n', NS, '--wait=false']);
    await waitFor('pod stubborn gone', async () => ((await cluster().kubectl.run(['get', 'pod', 'stubborn', '-n', NS])).code === 1 ? true : undefined), 30_000);
    const termination = agent.terminations.find((t) => t.name === 'stubborn')!;
    expect(termination).toMatchObject({ graceSeconds: 2, exits: { c: 'signal SIGKILL' } });
    const kill = termination.sigkillAt! - termination.sigtermAt!;
    expect(kill).toBeGreaterThanOrEqual(2000);
    expect(kill).toBeLessThan(3000);
    expect(cluster().logOf(`pod-${NS}-stubborn`)).toContain('"msg":"finishing events in hand"');
    // Its temp folder went with it.
    expect(existsSync(dir)).toBe(false);
    expect(agent.pod(NS, 'stubborn')).toBeUndefined();
  });

  it("reaches a chart's Services at the loopback address of what backs them (a registered redis-server, a Ready pod)", async () => {
    await cluster().kubectl.apply([
      pod(
        'web',
        {
          args: ['publish', '--forever', '--batch', '1', '--interval', '3600'],
          env: [...redisEnv('web-list'), { name: 'METRICS_PORT', value: '9090' }],
          ports: [{ name: 'metrics', containerPort: 9090 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 9090 }, periodSeconds: 1 },
        },
        { restartPolicy: 'Always' },
        { labels: { app: 'web' } },
      ),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'redis', namespace: NS }, spec: { ports: [{ port: 6379 }] } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: NS },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'metrics' }] },
      },
    ]);
    agent.addServiceBackend(NS, 'redis', 6379, { host: '127.0.0.1', port: server.port });
    await waitPod('web', 'Ready', (p) => condition(p, 'Ready') === 'True');
    const webPort = agent.pod(NS, 'web')!.launches.c.ports[9090];
    const list = 'svc-list';
    await redis.lpush(list, JSON.stringify({ id: 'svc-1', wait: 0 }));
    const names = ['REDIS_HOST', 'REDIS_PORT', 'A_URL', 'B_ADDR', 'C_URL', 'WEB_HOST', 'WEB_PORT', 'IP_HOST', 'OTHER_HOST'];
    await cluster().kubectl.apply([
      pod(
        'svc',
        {
          args: ['consume', '--once', '--handler', '/etc/handler/probe.js'],
          env: [
            { name: 'REDIS_HOST', value: 'redis' },
            { name: 'REDIS_PORT', value: '6379' },
            { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
            { name: 'LIST_NAME', value: list },
            { name: 'REPORT', value: names.join(',') },
            { name: 'OUT_FILE', value: '/scratch/out.json' },
            { name: 'A_URL', value: `redis://:secret@redis.${NS}.svc.cluster.local:6379/0` },
            { name: 'B_ADDR', value: `redis.${NS}:6379` },
            { name: 'C_URL', value: `http://web.${NS}.svc/metrics` },
            { name: 'WEB_HOST', value: 'web' },
            { name: 'WEB_PORT', value: '80' },
            { name: 'IP_HOST', value: '127.0.0.1' },
            { name: 'OTHER_HOST', value: 'no-such-service' },
          ],
          volumeMounts: [
            { name: 'handler', mountPath: '/etc/handler' },
            { name: 'scratch', mountPath: '/scratch' },
          ],
        },
        {
          volumes: [
            { name: 'handler', configMap: { name: 'handler' } },
            { name: 'scratch', emptyDir: {} },
          ],
        },
      ),
    ]);
    await waitPod('svc', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    const out = JSON.parse(readFileSync(join(agent.pod(NS, 'svc')!.volumes.scratch, 'out.json'), 'utf8'));
    expect(out).toEqual({
      event: 'svc-1',
      env: {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(server.port),
        A_URL: `redis://:secret@127.0.0.1:${server.port}/0`,
        B_ADDR: `127.0.0.1:${server.port}`,
        C_URL: `http://127.0.0.1:${webPort}/metrics`,
        WEB_HOST: '127.0.0.1',
        WEB_PORT: String(webPort),
        IP_HOST: '127.0.0.1',
        OTHER_HOST: 'no-such-service',
      },
    });
    expect(await redis.llen(list)).toBe(0);
  });
});

describe('a pod of the Redis image', () => {
  const redisPod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      automountServiceAccountToken: false,
      subdomain: 'kv',
      containers: [
        {
          name: 'redis',
          image: 'redis:7.4.2',
          command: ['redis-server'],
          args: ['/etc/redis/redis.conf', '--requirepass', '$(PW)'],
          env: [
            { name: 'PW', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
            { name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
          ],
          ports: [{ name: 'redis', containerPort: 6379 }],
          readinessProbe: { exec: { command: ['sh', '-c', 'redis-cli -p 6379 ping | grep -q PONG'] }, periodSeconds: 1 },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/redis' },
            { name: 'data', mountPath: '/data' },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'kv-config' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data-kv' } },
      ],
    },
  });
  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data-kv', namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', resources: { requests: { storage: '16Mi' } } },
  };
  const volume = (name: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '16Mi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/tmp/${name}` },
      claimRef: { namespace: NS, name: 'data-kv' },
    },
  });
  const readyPod = () => waitPod('kv-0', 'Ready', (p) => condition(p, 'Ready') === 'True');
  const client = (ip: string) => new Redis({ host: ip, port: 6379, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1 });
  const deletePod = async () => {
    await cluster().kubectl.ok(['delete', 'pod', 'kv-0', '-n', NS, '--wait=true', '--timeout=60s']);
  };

  it('runs redis-server on an address of its own, its claim a folder kept across pods, a new claim empty; its DNS name is that address', async () => {
    await cluster().kubectl.apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kv-config', namespace: NS }, data: { 'redis.conf': 'bind * -::*\nport 6379\ndir /data\nappendonly yes\n' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kv', namespace: NS }, spec: { clusterIP: 'None', selector: { app: 'kv' }, ports: [{ port: 6379 }] } },
      volume('pv-kv-1'),
      claim,
      redisPod('kv-0'),
    ]);
    const first = await readyPod();
    const ip: string = first.status.podIP;
    expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(ip).not.toBe('127.0.0.1');
    expect(agent.pod(NS, 'kv-0')!.launches.redis.args.slice(-4)).toEqual(['--bind', ip, '--cluster-announce-ip', ip]);
    const a = client(ip);
    await a.connect();
    await a.set('kept', 'yes');
    a.disconnect();
    // A pod of the runtime image reaches it by its DNS name under the headless Service.
    const list = 'kv-list';
    const kvRedis = client(ip);
    await kvRedis.connect();
    await kvRedis.lpush(list, JSON.stringify({ id: 'kv-1', wait: 0 }));
    await cluster().kubectl.apply([
      pod('kv-client', {
        args: ['consume', '--once', '--sleep-scale', '0'],
        env: [
          { name: 'REDIS_HOST', value: `kv-0.kv.${NS}.svc.cluster.local` },
          { name: 'REDIS_PORT', value: '6379' },
          { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } },
          { name: 'LIST_NAME', value: list },
        ],
      }),
    ]);
    await waitPod('kv-client', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    expect(agent.pod(NS, 'kv-client')!.launches.c.env.REDIS_HOST).toBe(ip);
    expect(await kvRedis.llen(list)).toBe(0);
    kvRedis.disconnect();

    // A new pod of the same name: the same address, the claim's data (the AOF) there.
    await deletePod();
    await cluster().kubectl.apply([redisPod('kv-0')]);
    const second = await readyPod();
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    expect(second.status.podIP).toBe(ip);
    const b = client(ip);
    await b.connect();
    expect(await b.get('kept')).toBe('yes');
    b.disconnect();

    // The claim deleted and made anew: an empty folder.
    await deletePod();
    await cluster().kubectl.ok(['delete', 'pvc', 'data-kv', '-n', NS, '--wait=true', '--timeout=60s']);
    await cluster().kubectl.apply([volume('pv-kv-2'), claim, redisPod('kv-0')]);
    await readyPod();
    const c = client(ip);
    await c.connect();
    expect(await c.get('kept')).toBeNull();
    c.disconnect();
  });
});
