/**
 * Real redis-server processes in cluster mode for tests, not yet joined (that is what
 * `redis-keda cluster create` does): each on its own free loopback port and cluster bus port, with
 * `nodes.conf` and the AOF in its own temp dir, so a node stopped or killed -9 comes back on its own
 * data with its old node id. Only the processes started here are ever signalled. Stop in afterAll.
 */
import { ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import Redis from 'ioredis';
import { tmpdir } from 'os';
import { join } from 'path';
import { runCli } from './cli';
import { freePort, launch, stopChild } from './redis-server';

export interface ClusterNodesOptions {
  /** Processes to start. */
  readonly count: number;
  /** `requirepass` and `masterauth`: clients and replicas must AUTH with it. @default - no password */
  readonly password?: string;
  /** `cluster-node-timeout` in ms. @default 2000 */
  readonly nodeTimeoutMs?: number;
  /** Loopback addresses the nodes bind, node i on `hosts[i % hosts.length]` (127.0.0.x: hosts of their own). @default ['127.0.0.1'] */
  readonly hosts?: readonly string[];
  /** The client port of every node (each on a host of its own, since they share it): pods reached at their IP and Redis' port. @default - a free port each */
  readonly port?: number;
}

/** What a restart may change. */
export interface RestartOptions {
  /** Config directives to start with (`{ hz: '20' }`: `--hz 20`), replacing those of earlier restarts. @default - the original config */
  readonly config?: Readonly<Record<string, string>>;
  /** Another loopback address to bind and announce (the port stays): a pod that came back with a new IP. @default - the current host */
  readonly host?: string;
}

export interface ClusterNodeProcess {
  /** The address it binds and announces now (restart({ host }) changes it). */
  readonly host: string;
  readonly port: number;
  /** The cluster bus port (`cluster-port`; port + 10000 may be out of range for an ephemeral port). */
  readonly busPort: number;
  /** `<host>:<port>`, as `--nodes` takes it. */
  readonly address: string;
  /** Data dir: nodes.conf and the AOF, kept across stop/kill and restart. */
  readonly dir: string;
  /** The running process' id, undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for the exit (Redis writes nodes.conf and the AOF). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: nothing is written. */
  kill(): Promise<void>;
  /** Starts again on the same ports and dir after stop() or kill(), with its own nodes.conf. */
  restart(options?: RestartOptions): Promise<void>;
  /** The config directives of the running process' last restart. */
  readonly config: Readonly<Record<string, string>>;
  /** A plain (not cluster-aware) client of this node, authenticated, reconnecting; close it with disconnect(). */
  client(): Redis;
}

export interface ClusterNodes {
  readonly nodes: readonly ClusterNodeProcess[];
  /** `host:port,host:port,...` of every node now, as `--nodes` / CLUSTER_NODES take it. */
  readonly addresses: string;
  /** Stops every process started here and removes their dirs. */
  stop(): Promise<void>;
}

export async function startClusterNodes(options: ClusterNodesOptions): Promise<ClusterNodes> {
  const nodes: ClusterNodeProcess[] = [];
  try {
    // One at a time: the ports are free when asked, and a loaded machine starts few processes well at once.
    for (let i = 0; i < options.count; i++) nodes.push(await startNode(options, options.hosts?.[i % options.hosts.length] ?? '127.0.0.1'));
  } catch (error) {
    await Promise.all(nodes.map((n) => destroy(n)));
    throw error;
  }
  return {
    nodes,
    get addresses() {
      return nodes.map((n) => n.address).join(',');
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => destroy(n)));
    },
  };
}

const destroyers = new WeakMap<ClusterNodeProcess, () => Promise<void>>();

function destroy(node: ClusterNodeProcess): Promise<void> {
  return destroyers.get(node)?.() ?? Promise.resolve();
}

async function startNode(options: ClusterNodesOptions, host: string, attempts = 5): Promise<ClusterNodeProcess> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'redis-keda-test-cluster-'));
    try {
      const port = options.port ?? (await freePort());
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      return await nodeIn(dir, host, port, busPort, options);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      lastError = error;
    }
  }
  throw new Error(`cluster redis-server did not start after ${attempts} attempts: ${String(lastError)}`);
}

async function nodeIn(dir: string, firstHost: string, port: number, busPort: number, options: ClusterNodesOptions): Promise<ClusterNodeProcess> {
  let host = firstHost;
  let config: Readonly<Record<string, string>> = {};
  const argsFor = () => [
    '--port', String(port),
    '--cluster-port', String(busPort),
    '--bind', host,
    // Without it peers record the source address of its bus connections, 127.0.0.1 for any loopback host.
    '--cluster-announce-ip', host,
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2000),
    // A replica's full sync starts at once instead of after the default 5 s wait for more replicas to share it.
    '--repl-diskless-sync-delay', '0',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
    ...(options.password !== undefined ? ['--requirepass', options.password, '--masterauth', options.password] : []),
    ...Object.entries(config).flatMap(([k, v]) => [`--${k}`, v]),
  ]; // prettier-ignore
  let child: ChildProcess | undefined = await launch(argsFor(), port, options.password, host);
  const running = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;
  const kill = async () => {
    if (!running(child)) return;
    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  const node: ClusterNodeProcess = {
    get host() {
      return host;
    },
    port,
    busPort,
    get address() {
      return `${host}:${port}`;
    },
    get config() {
      return config;
    },
    dir,
    get pid() {
      return running(child) ? child.pid : undefined;
    },
    stop: async () => {
      if (running(child)) await stopChild(child);
    },
    kill,
    restart: async (restart = {}) => {
      if (running(child)) throw new Error(`cluster node ${port} is still running`);
      child = undefined;
      host = restart.host ?? host;
      config = restart.config ?? config;
      child = await launch(argsFor(), port, options.password, host);
    },
    client: () => {
      const redis = new Redis({ host, port, password: options.password, protocol: 2, maxRetriesPerRequest: 1 });
      // A killed node's client reconnects until it is back; its failures are the test's to report.
      redis.on('error', () => undefined);
      return redis;
    },
  };
  destroyers.set(node, async () => {
    if (running(child)) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  });
  return node;
}

/**
 * Joins `members` (default: every node) into a cluster with `redis-keda cluster create`, as the create Job does;
 * throws with the tool's stderr when it fails.
 */
export async function createCluster(
  cluster: ClusterNodes,
  options: { readonly members?: string; readonly replicasPerMaster?: number; readonly timeoutMs?: number } = {},
): Promise<void> {
  const args = ['cluster', 'create', '--nodes', options.members ?? cluster.addresses, '--replicas-per-master', String(options.replicasPerMaster ?? 0)];
  const created = await runCli(args, { timeoutMs: options.timeoutMs ?? 30_000 });
  if (created.code !== 0) throw new Error(`cluster create exited ${created.code}: ${created.stderr}`);
}
