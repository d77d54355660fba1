/**
 * One pod on the agent's node, from binding to removal: volumes made once, then each container
 * started (env resolved and rewritten each time, as the kubelet does at every container start),
 * its readiness probed, its exit turned into container state, restarts (restartPolicy, back-off)
 * and the pod phase, all reported by patching the pod's status. On deletion: SIGTERM, SIGKILL
 * after the grace period, a terminal status, then the final delete (grace 0) and the temp folder removed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { freePort } from '../../../test/support/redis-server';
import type { StartedProcess } from '../processes';
import { ApiClient, ApiError } from './api';
import { ConfigError, expand, KeyedData, ObjectSource, POD_IP, resolveEnv } from './env';
import { apiTime } from './node-status';
import { Prober, ProbeTarget, probeTiming } from './probes';
import { exporterArgv, hostProgram, redisCliOnAddress, redisConfigCopy, redisServerArgv, containerKind } from './redis-pods';
import { Rewriter, ServiceDirectory } from './rewrite';
import { materializeVolumes, mountMappings } from './volumes';

/** Where the runtime image's program lives in the image (its ENTRYPOINT is `node` on this file). */
const IMAGE_CLI = '/app/lib/runtime/cli.js';
const RETRY_MS = 1000;

/** What the agent lends each of its pods. */
export interface PodHost {
  readonly api: ApiClient;
  /** Starts a program with the harness's Processes (setpriv --pdeathsig), logging to the run's log folder. */
  start(logName: string, command: string, args: readonly string[], env: Record<string, string>, cwd: string): StartedProcess;
  /** The compiled CLI (`redis-keda`). */
  readonly cli: string;
  readonly podsDir: string;
  readonly services: ServiceDirectory;
  readonly restartBackoff: { readonly initialMs: number; readonly maxMs: number };
  /** A line for the agent's own log. */
  log(message: string, fields?: object): void;
  /** A pod is being deleted: its termination record (filled in as it goes). */
  terminating(termination: Termination): void;
  /** The loopback address of a pod of the Redis image, by namespace and name (redis-pods.ts). */
  podAddress(namespace: string, name: string): string;
  /** The host folder of a PersistentVolumeClaim by its uid (one folder per claim, outside every pod's). */
  claimDir(namespace: string, claim: string, uid: string): string;
}

/** What happened when a pod was deleted, for the tests. */
export interface Termination {
  readonly namespace: string;
  readonly name: string;
  readonly graceSeconds: number;
  /** ms since the epoch. */
  readonly sigtermAt?: number;
  sigkillAt?: number;
  exitedAt?: number;
  /** Per container: `code N` or `signal S`. */
  readonly exits: Record<string, string>;
}

/** One container's launch, as the agent made it (for tests and the agent's log). */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** containerPort -> loopback port. */
  readonly ports: Record<number, number>;
  readonly logFile: string;
}

type State = { waiting: { reason: string; message?: string } } | { running: { startedAt: string } } | { terminated: Terminated };
interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

class ContainerRunner {
  state: State = { waiting: { reason: 'ContainerCreating' } };
  lastState: State | Record<string, never> = {};
  restartCount = 0;
  ready = false;
  everStarted = false;
  /** Exited and will not run again. */
  final = false;
  process?: StartedProcess;
  prober?: Prober;
  restartTimer?: NodeJS.Timeout;
  ports?: Map<number, number>;
  launch?: Launch;

  constructor(
    readonly spec: any,
    readonly index: number,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.child.exitCode === null && this.process.child.signalCode === null;
  }
}

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly dir: string;
  readonly containers: ContainerRunner[];
  termination?: Termination;
  volumeDirs = new Map<string, string>();
  private terminating = false;
  private gone = false;
  private startTime?: string;
  private readonly transitions = new Map<string, { status: string; at: string }>();
  private patching = false;
  private dirty = false;
  private flushed?: Promise<void>;
  /** The pod's address: its own for a pod of the Redis image, else the Node's. */
  readonly ip: string;
  /** Whether the pod has an address of its own (its ports are not remapped). */
  readonly ownAddress: boolean;

  constructor(
    private pod: any,
    private readonly host: PodHost,
    kind: 'runtime' | 'redis' = 'runtime',
  ) {
    this.uid = pod.metadata.uid;
    this.namespace = pod.metadata.namespace;
    this.name = pod.metadata.name;
    this.ownAddress = kind === 'redis';
    this.ip = this.ownAddress ? host.podAddress(this.namespace, this.name) : POD_IP;
    this.dir = join(host.podsDir, `${this.namespace}_${this.name}_${this.uid}`);
    this.containers = (pod.spec.containers as any[]).map((spec, i) => new ContainerRunner(spec, i));
  }

  get labels(): Record<string, string> {
    return this.pod.metadata.labels ?? {};
  }

  get isReady(): boolean {
    return !this.terminating && this.containers.every((c) => c.ready);
  }

  /** Makes the volumes (retrying while a required Secret or ConfigMap is missing) and starts every container. */
  async run(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.startTime = apiTime();
    while (!this.terminating) {
      try {
        this.volumeDirs = await materializeVolumes(this.pod, this.dir, this.objectSource(), this.ip);
        break;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const c of this.containers) c.state = { waiting: { reason: 'ContainerCreating', message: `MountVolume.SetUp failed: ${error.message}` } };
        this.schedulePatch();
        await delay(RETRY_MS);
      }
    }
    await Promise.all(this.containers.map((c) => this.startContainer(c)));
  }

  /** A newer version of the pod from the watch. */
  update(pod: any): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.terminate().catch((error) => this.host.log('terminate failed', { pod: this.key, error: String(error) }));
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  private objectSource(): ObjectSource {
    const cache = new Map<string, Promise<KeyedData | undefined>>();
    const read = (kind: 'secrets' | 'configmaps', name: string) => {
      const key = `${kind}/${name}`;
      if (!cache.has(key)) cache.set(key, this.readObject(kind, name));
      return cache.get(key)!;
    };
    return { secret: (name) => read('secrets', name), configMap: (name) => read('configmaps', name), claim: (name) => this.claimDir(name) };
  }

  /** The claim's folder, by the claim's uid: a claim deleted and made again starts empty, as a new volume would. */
  private async claimDir(name: string): Promise<string> {
    let claim: any;
    try {
      claim = await this.host.api.find<any>(`/api/v1/namespaces/${this.namespace}/persistentvolumeclaims/${name}`);
    } catch (error) {
      throw new ConfigError(`cannot read persistentvolumeclaim "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!claim) throw new ConfigError(`persistentvolumeclaim "${name}" not found`);
    return this.host.claimDir(this.namespace, name, claim.metadata.uid);
  }

  private async readObject(kind: 'secrets' | 'configmaps', name: string): Promise<KeyedData | undefined> {
    try {
      const object = await this.host.api.find<any>(`/api/v1/namespaces/${this.namespace}/${kind}/${name}`);
      if (!object) return undefined;
      const data: Record<string, Buffer> = {};
      if (kind === 'secrets') for (const [k, v] of Object.entries<string>(object.data ?? {})) data[k] = Buffer.from(v, 'base64');
      else {
        for (const [k, v] of Object.entries<string>(object.data ?? {})) data[k] = Buffer.from(v, 'utf8');
        for (const [k, v] of Object.entries<string>(object.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
      }
      return { data };
    } catch (error) {
      // E.g. 403 for a moment: the Node authorizer lets a node read what its pods reference once it has seen the binding.
      throw new ConfigError(`cannot read ${kind} "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async startContainer(c: ContainerRunner): Promise<void> {
    while (!this.terminating) {
      try {
        c.launch = await this.prepareLaunch(c);
        break;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        c.state = { waiting: { reason: error.reason, message: error.message } };
        this.schedulePatch();
        await delay(RETRY_MS);
      }
    }
    if (this.terminating || !c.launch) return;
    const launch = c.launch;
    const started = this.host.start(launch.logFile, launch.command, launch.args, launch.env, launch.cwd);
    c.process = started;
    c.everStarted = true;
    const startedAt = apiTime();
    c.state = { running: { startedAt } };
    c.ready = false;
    this.host.log('container started', { pod: this.key, container: c.name, pid: started.child.pid, restartCount: c.restartCount, args: launch.args, ports: launch.ports });
    started.child.once('exit', (code, signal) => this.onExit(c, started, startedAt, code, signal));
    const probe = c.spec.readinessProbe;
    if (probe) {
      c.prober = new Prober(this.probeTarget(c, probe, launch), probeTiming(probe), (ready) => {
        c.ready = ready;
        this.host.log('readiness', { pod: this.key, container: c.name, ready });
        this.schedulePatch();
      });
      c.prober.start();
    } else {
      c.ready = true;
    }
    this.schedulePatch();
  }

  /** The program, its env and args with the pod's view rewritten into the host's (see rewrite.ts). */
  private async prepareLaunch(c: ContainerRunner): Promise<Launch> {
    if (!c.ports) {
      c.ports = new Map();
      // A pod of its own address listens on the ports it declares.
      for (const port of c.spec.ports ?? []) c.ports.set(port.containerPort, this.ownAddress ? port.containerPort : await freePort());
    }
    const mounts = mountMappings(c.spec, this.volumeDirs);
    const rewriter = new Rewriter(this.namespace, mounts, c.ports, this.host.services, this.ownAddress ? this.ip : undefined);
    const resolved = await resolveEnv(this.pod, c.spec, this.objectSource(), this.ip);
    const env = await rewriter.env(resolved);
    const lookup = (name: string) => env[name];
    const command: string[] = (c.spec.command ?? []).map((s: string) => expand(s, lookup));
    const kind = containerKind(String(c.spec.image));
    const cwd = c.spec.workingDir ? rewriter.path(c.spec.workingDir) : this.dir;
    mkdirSync(cwd, { recursive: true });
    const logFile = c.index === 0 ? `pod-${this.namespace}-${this.name}` : `pod-${this.namespace}-${this.name}-${c.name}`;
    if (kind === 'redis' || kind === 'exporter') {
      const host = await this.redisImageProgram(
        c,
        kind,
        command,
        (c.spec.args ?? []).map((s: string) => expand(s, lookup)),
        rewriter,
      );
      return { ...host, env: { HOSTNAME: this.name, ...env }, cwd, ports: Object.fromEntries(c.ports), logFile };
    }
    const args: string[] = (c.spec.args ?? (c.spec.command ? [] : ['--help'])).map((s: string) => expand(s, lookup));
    let argv: string[];
    if (command.length === 0) argv = args;
    else if (command[0] === 'redis-keda' || command[0].endsWith('/redis-keda')) argv = [...command.slice(1), ...args];
    else if (command[0] === 'node' && command[1] === IMAGE_CLI) argv = [...command.slice(2), ...args];
    else throw new ConfigError(`the node agent runs only the runtime image's program (redis-keda), not ${JSON.stringify(command)}`, 'RunContainerError');
    return {
      command: process.execPath,
      args: [this.host.cli, ...(await rewriter.args(argv))],
      env: { HOSTNAME: this.name, ...env },
      cwd,
      ports: Object.fromEntries(c.ports),
      logFile,
    };
  }

  /** The host program of a Redis-image or exporter container, on the pod's address (redis-pods.ts). */
  private async redisImageProgram(
    c: ContainerRunner,
    kind: 'redis' | 'exporter',
    command: string[],
    args: string[],
    rewriter: Rewriter,
  ): Promise<{ command: string; args: string[] }> {
    const { program, argv } = hostProgram(kind, command, args);
    const rewritten = await rewriter.args(argv);
    if (kind === 'exporter') return { command: program, args: exporterArgv(rewritten, this.ip, c.spec.ports?.[0]?.containerPort) };
    // The config file (the first argument, its path mapped): a copy with the paths in it mapped too.
    const configCopy = rewritten[0] !== undefined && !rewritten[0].startsWith('-') ? join(this.dir, `${c.name}-redis.conf`) : undefined;
    if (configCopy) {
      let text: string;
      try {
        text = readFileSync(rewritten[0], 'utf8');
      } catch (error) {
        throw new ConfigError(`cannot read the config file ${argv[0]}: ${error instanceof Error ? error.message : String(error)}`, 'RunContainerError');
      }
      writeFileSync(
        configCopy,
        redisConfigCopy(text, (line) => rewriter.path(line)),
      );
    }
    return { command: program, args: redisServerArgv(rewritten, this.ip, configCopy) };
  }

  private probeTarget(c: ContainerRunner, probe: any, launch: Launch): ProbeTarget {
    const ports = c.ports ?? new Map<number, number>();
    const portOf = (port: number | string): number => {
      const number = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : (c.spec.ports ?? []).find((p: any) => p.name === port)?.containerPort;
      if (number === undefined) return -1;
      return ports.get(number) ?? number;
    };
    if (probe.exec) {
      const mounts = mountMappings(c.spec, this.volumeDirs);
      const rewriter = new Rewriter(this.namespace, mounts, ports, this.host.services);
      const [first, ...rest] = (probe.exec.command as string[]).map((s) => rewriter.path(s)).map((s) => (this.ownAddress ? redisCliOnAddress(s, this.ip) : s));
      const isCli = first === 'redis-keda' || first.endsWith('/redis-keda');
      return {
        exec: {
          command: isCli ? process.execPath : first,
          args: isCli ? [this.host.cli, ...rest] : rest,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...launch.env },
          cwd: launch.cwd,
        },
      };
    }
    if (probe.httpGet) {
      const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h: any) => [h.name, h.value]));
      return { http: { host: this.ip, port: portOf(probe.httpGet.port), path: probe.httpGet.path ?? '/', scheme: probe.httpGet.scheme ?? 'HTTP', headers } };
    }
    if (probe.tcpSocket) return { tcp: { host: this.ip, port: portOf(probe.tcpSocket.port) } };
    return {};
  }

  private onExit(c: ContainerRunner, started: StartedProcess, startedAt: string, code: number | null, signal: NodeJS.Signals | null): void {
    c.prober?.stop();
    c.prober = undefined;
    c.ready = false;
    const exitCode = code ?? 128 + (SIGNALS[signal ?? ''] ?? 0);
    const terminated: Terminated = {
      exitCode,
      ...(signal ? { signal: SIGNALS[signal] } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt,
      finishedAt: apiTime(),
      containerID: `e2e-node-agent://${started.child.pid}`,
    };
    if (this.termination) this.termination.exits[c.name] = signal ? `signal ${signal}` : `code ${code}`;
    this.host.log('container exited', { pod: this.key, container: c.name, exitCode, signal, terminating: this.terminating });
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    const restart = !this.terminating && (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0));
    if (!restart) {
      c.state = { terminated };
      c.final = true;
    } else {
      c.lastState = { terminated };
      const wait = c.restartCount === 0 ? 0 : Math.min(this.host.restartBackoff.initialMs * 2 ** (c.restartCount - 1), this.host.restartBackoff.maxMs);
      c.state =
        wait > 0
          ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${wait / 1000}s restarting failed container=${c.name} pod=${this.name}_${this.namespace}(${this.uid})` } }
          : { terminated };
      c.restartTimer = setTimeout(() => {
        c.restartTimer = undefined;
        if (this.terminating) return;
        c.restartCount++;
        void this.startContainer(c).catch((error) => this.host.log('restart failed', { pod: this.key, error: String(error) }));
      }, wait);
    }
    this.schedulePatch();
  }

  /** SIGTERM to every running container, SIGKILL after the grace period, a terminal status, the final delete. */
  async terminate(): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    const graceSeconds: number = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
    const running = this.containers.filter((c) => c.running);
    this.termination = { namespace: this.namespace, name: this.name, graceSeconds, exits: {}, ...(running.length ? { sigtermAt: Date.now() } : {}) };
    for (const c of this.containers) {
      c.prober?.stop();
      c.ready = false;
      if (c.restartTimer) clearTimeout(c.restartTimer);
      if (!c.running && !c.final) {
        c.final = true;
        if (!('terminated' in c.state)) c.state = { terminated: { exitCode: 0, reason: 'Completed', startedAt: apiTime(), finishedAt: apiTime(), containerID: '' } };
      }
    }
    this.host.terminating(this.termination);
    this.host.log('terminating', { pod: this.key, graceSeconds, running: running.map((c) => c.name) });
    if (running.length) {
      for (const c of running) c.process!.child.kill('SIGTERM');
      const kill = setTimeout(() => {
        this.termination!.sigkillAt = Date.now();
        this.host.log('grace period over: SIGKILL', { pod: this.key });
        for (const c of running) if (c.running) c.process!.child.kill('SIGKILL');
      }, graceSeconds * 1000);
      await Promise.all(running.map((c) => c.process!.exited));
      clearTimeout(kill);
      this.termination.exitedAt = Date.now();
    }
    this.schedulePatch();
    await this.flushed;
    try {
      await this.host.api.call('DELETE', `/api/v1/namespaces/${this.namespace}/pods/${this.name}`, {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 404 || error.status === 409))) throw error;
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.host.log('deleted', { pod: this.key });
  }

  /** The pod object is gone from the API (deleted by the agent, or force-deleted): nothing may be left. */
  removed(): void {
    this.kill();
  }

  /** Kills every process at once and removes the pod's folder (the agent stops, or the pod was force-deleted). */
  kill(): void {
    this.gone = true;
    this.terminating = true;
    for (const c of this.containers) {
      c.prober?.stop();
      if (c.restartTimer) clearTimeout(c.restartTimer);
      if (c.running) c.process!.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private schedulePatch(): void {
    this.dirty = true;
    if (!this.patching) this.flushed = this.flush();
  }

  private async flush(): Promise<void> {
    this.patching = true;
    try {
      while (this.dirty && !this.gone) {
        this.dirty = false;
        try {
          await this.host.api.call('PATCH', `/api/v1/namespaces/${this.namespace}/pods/${this.name}/status`, { status: this.status() }, 'application/strategic-merge-patch+json');
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) return;
          this.host.log('status patch failed', { pod: this.key, error: String(error) });
          this.dirty = true;
          await delay(200);
        }
      }
    } finally {
      this.patching = false;
    }
  }

  private phase(): string {
    if (this.containers.every((c) => c.final)) return this.containers.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
    return this.containers.some((c) => c.everStarted) ? 'Running' : 'Pending';
  }

  private condition(type: string, ok: boolean, reason?: string, message?: string): object {
    const status = ok ? 'True' : 'False';
    const previous = this.transitions.get(type);
    if (!previous || previous.status !== status) this.transitions.set(type, { status, at: apiTime() });
    return { type, status, lastProbeTime: null, lastTransitionTime: this.transitions.get(type)!.at, ...(ok ? {} : { reason, message }) };
  }

  private status(): object {
    const phase = this.phase();
    const done = phase === 'Succeeded' || phase === 'Failed';
    const unready = this.containers.filter((c) => !c.ready).map((c) => c.name);
    const containersReady = unready.length === 0 && !done;
    const unreadyReason = done ? 'PodCompleted' : 'ContainersNotReady';
    const unreadyMessage = done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
    return {
      phase,
      hostIP: POD_IP,
      hostIPs: [{ ip: POD_IP }],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      startTime: this.startTime,
      conditions: [
        this.condition('PodReadyToStartContainers', this.volumeDirs.size > 0 || !(this.pod.spec.volumes ?? []).length),
        this.condition('Initialized', true),
        this.condition('ContainersReady', containersReady, unreadyReason, unreadyMessage),
        this.condition('Ready', containersReady, unreadyReason, unreadyMessage),
      ],
      containerStatuses: this.containers.map((c) => ({
        name: c.name,
        image: c.spec.image,
        imageID: c.spec.image,
        ...(c.process ? { containerID: `e2e-node-agent://${c.process.child.pid}` } : {}),
        state: exclusive(c.state),
        lastState: exclusive(c.lastState),
        ready: c.ready,
        restartCount: c.restartCount,
        started: c.running,
      })),
    };
  }
}

/**
 * A container state for a strategic merge patch: the two other kinds set to null, so a merge with
 * the state before (running after waiting) leaves exactly one.
 */
function exclusive(state: State | Record<string, never>): object {
  return { waiting: null, running: null, terminated: null, ...state };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
