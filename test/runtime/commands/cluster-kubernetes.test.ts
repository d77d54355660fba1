/** `redis-keda cluster` in Kubernetes mode, run as a pod runs it; the API calls themselves are proven on the live plane (e2e/redis-cluster-kubernetes.test.ts). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Env } from '../../../runtime/contract';
import { runCli } from '../../support/cli';

const NODES = [1, 2, 3, 4, 5, 6].map((i) => `127.0.0.1:${i}`).join(',');
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_FORMAT: 'text', [Env.CLUSTER_NODES]: NODES, ...extra });
/** The subcommands that take their nodes from --nodes or, in Kubernetes mode, from the StatefulSet's pods. */
const MEMBER_COMMANDS = [['check'], ['fix'], ['reconcile'], ['consistency-check'], ['exec', 'PING'], ['rebalance']] as const;
const KUBERNETES_FLAGS = [
  ['--statefulset', Env.CLUSTER_STATEFULSET],
  ['--namespace', Env.CLUSTER_NAMESPACE],
  ['--kubeconfig', Env.KUBECONFIG],
  ['--node-addressing', Env.CLUSTER_NODE_ADDRESSING],
] as const;

test('create --help lists the Kubernetes options with their env names', async () => {
  const result = await runCli(['cluster', 'create', '--help'], { env: env() });
  expect(result.code).toBe(0);
  for (const [flag, name] of KUBERNETES_FLAGS) expect(result.stdout).toMatch(new RegExp(`${flag}[\\s\\S]*${name}`));
});

test('check, fix, reconcile, consistency-check, exec and rebalance --help list the Kubernetes options with their env names; exec says --ordinals are pod ordinals there', async () => {
  const helps = await Promise.all(MEMBER_COMMANDS.map(([name]) => runCli(['cluster', name, '--help'], { env: env() })));
  for (const result of helps) {
    expect(result.code).toBe(0);
    for (const [flag, name] of KUBERNETES_FLAGS) expect(result.stdout).toMatch(new RegExp(`${flag}[\\s\\S]*${name}`));
    expect(result.stdout).toMatch(/--nodes[\s\S]*required unless\s+--statefulset/);
  }
  expect(helps[4].stdout).toMatch(/--ordinals[\s\S]*with --statefulset the pod\s+ordinals[\s\S]*CLUSTER_EXEC_ORDINALS/);
});

test('check, fix, reconcile, consistency-check, exec and rebalance --statefulset without --nodes, outside a pod: exit 1 before any node is contacted (the pods are the nodes)', async () => {
  const noNodes = env({ [Env.CLUSTER_NODES]: '' });
  const results = await Promise.all(MEMBER_COMMANDS.map((command) => runCli(['cluster', ...command, '--statefulset', 'rc'], { env: noNodes })));
  for (const result of results) {
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
    expect(result.stderr).toContain('not in a pod: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)');
  }
  // Address mode still needs its list.
  const listless = await runCli(['cluster', 'check'], { env: noNodes });
  expect(listless.code).toBe(2);
  expect(listless.stderr).toContain(`--nodes (or env ${Env.CLUSTER_NODES}) must list the cluster's nodes`);
});

test('exec --statefulset with malformed --ordinals: a usage error naming pod ordinals, before the API is asked (exit 2)', async () => {
  const result = await runCli(['cluster', 'exec', '--statefulset', 'rc', '--ordinals', '0,x', 'PING'], { env: env() });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`--ordinals (or env ${Env.CLUSTER_EXEC_ORDINALS}) must be distinct pod ordinals separated by commas, got '0,x'`);
  const repeated = await runCli(['cluster', 'exec', '--statefulset', 'rc', '--ordinals', '1,1', 'PING'], { env: env() });
  expect(repeated.code).toBe(2);
  expect(repeated.stderr).toContain('must be distinct pod ordinals');
});

test('outside a pod and without --kubeconfig: exit 1, saying so, before any node is contacted', async () => {
  const result = await runCli(['cluster', 'create', '--statefulset', 'rc'], { env: env() });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('not in a pod: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)');
  expect(result.stdout).toBe('');
});

test('a kubeconfig whose context names no namespace, without --namespace: a usage error (exit 2)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-kube-'));
  try {
    const file = path.join(dir, 'config');
    fs.writeFileSync(
      file,
      JSON.stringify({
        'current-context': 'x',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const result = await runCli(['cluster', 'create', '--statefulset', 'rc'], { env: env({ [Env.KUBECONFIG]: file }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--namespace (or env ${Env.CLUSTER_NAMESPACE}) must name the StatefulSet's namespace`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--node-addressing takes dns or pod-ip only (exit 2)', async () => {
  const result = await runCli(['cluster', 'create', '--statefulset', 'rc', '--node-addressing', 'ip'], { env: env() });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`Argument: node-addressing, Given: "ip", Choices: "dns", "pod-ip"`);
});

test('scale --statefulset without --masters: a usage error naming the flag and its env (exit 2)', async () => {
  const result = await runCli(['cluster', 'scale', '--statefulset', 'rc'], { env: env() });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`cluster scale --statefulset needs --masters (or env ${Env.CLUSTER_MASTERS}), the masters wanted`);
});

test('scale --statefulset --masters 3 and upgrade --statefulset outside a pod: exit 1 before any node is contacted', async () => {
  for (const args of [
    ['cluster', 'scale', '--statefulset', 'rc', '--masters', '3'],
    ['cluster', 'upgrade', '--statefulset', 'rc'],
  ]) {
    const result = await runCli(args, { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not in a pod: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)');
    expect(result.stdout).toBe('');
  }
});

test('upgrade without --statefulset: a usage error (exit 2); upgrade works on a StatefulSet only', async () => {
  const result = await runCli(['cluster', 'upgrade'], { env: env() });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`cluster upgrade works on a StatefulSet: give --statefulset (or env ${Env.CLUSTER_STATEFULSET})`);
});
