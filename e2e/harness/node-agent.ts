/**
 * A node agent: the kubelet of one Node that KWOK leaves alone, for pods whose every container
 * runs the runtime image, and pods of the Redis image (redis-server, and the redis_exporter
 * sidecar). It runs each container's program as a host process (the compiled CLI, the host's
 * redis-server or prometheus-redis-exporter), in the pod's own temp folder and loopback ports (a
 * Redis pod: a loopback address of its own), reports its status through the API, and stops it on
 * deletion. The rules for env, volumes, ports and Services are in node-agent/rewrite.ts,
 * node-agent/redis-pods.ts and e2e/README.md.
 *
 * It talks to the API server itself over HTTPS as `system:node:<name>` (group system:nodes), so
 * the Node authorizer decides what it may read: the Secrets and ConfigMaps its pods reference.
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'fs';
import { join } from 'path';
import { transpiledCli } from '../../test/support/runtime-build';
import type { ControlPlane } from './control-plane';
import { ApiClient, WatchEvent } from './node-agent/api';
import { ConfigError } from './node-agent/env';
import { NodeHeartbeat } from './node-agent/node-status';
import { Launch, PodHost, PodWorker, Termination } from './node-agent/pod-worker';
import { imageRepository, PodAddresses, podKind } from './node-agent/redis-pods';
import { Backend, serviceNameOf, ServiceDirectory, ServiceInfo } from './node-agent/rewrite';
import { waitFor } from './wait';

export type { Backend, Launch, Termination };

export interface NodeAgentOptions {
  /** Name of the Node. @default 'agent-node' */
  readonly nodeName?: string;
  /** More labels of the Node. @default {} */
  readonly labels?: Record<string, string>;
  /**
   * Back-off between restarts of a container that exited (restartPolicy Always / OnFailure): none
   * before the first restart, then `initialMs` doubling up to `maxMs` (the kubelet: 10 s up to 5 min).
   * @default { initialMs: 1000, maxMs: 10000 }
   */
  readonly restartBackoff?: { readonly initialMs: number; readonly maxMs: number };
}

export { imageRepository, podKind };

/** Whether the agent runs a pod: every container on the runtime image, or every one the Redis or the exporter image. */
export function runsOnAgent(pod: any): boolean {
  return podKind(pod) !== undefined;
}

/** The pods of the agent, as tests see them. */
export interface AgentPod {
  readonly uid: string;
  /** The pod's temp folder. */
  readonly dir: string;
  /** status.podIP: 127.0.0.1, or a Redis pod's own address. */
  readonly ip: string;
  /** Host folder of each volume, by volume name. */
  readonly volumes: Record<string, string>;
  /** The last launch of each container, by container name. */
  readonly launches: Record<string, Launch>;
  readonly termination?: Termination;
}

export class NodeAgent {
  /** Registers the Node, waits until it is Ready without taints, then serves the pods bound to it. */
  static async start(plane: ControlPlane, options: NodeAgentOptions = {}): Promise<NodeAgent> {
    const nodeName = options.nodeName ?? 'agent-node';
    const user = plane.pki.leaf(`node-agent-${nodeName}`, plane.clusterCa, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
    const agent = new NodeAgent(plane, nodeName, new ApiClient(plane.access.server, plane.access.caFile, user), options);
    try {
      await agent.boot(options.labels ?? {});
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  readonly dir: string;
  /** Every pod's termination, in order (kept after the pod is gone). */
  readonly terminations: Termination[] = [];
  private readonly pods = new Map<string, PodWorker>();
  /** Pods bound to the node that the agent leaves alone (not the runtime image). */
  private readonly ignored = new Set<string>();
  private readonly backends = new Map<string, Backend>();
  private readonly watch = new AbortController();
  private readonly logFile: string;
  private heartbeat?: NodeHeartbeat;
  private watching?: Promise<void>;
  private readonly host: PodHost;
  /** The addresses of the Redis pods, by namespace/name. */
  private readonly addresses = new PodAddresses();

  private constructor(
    plane: ControlPlane,
    readonly nodeName: string,
    private readonly api: ApiClient,
    options: NodeAgentOptions,
  ) {
    this.dir = join(plane.dir, `node-agent-${nodeName}`);
    this.logFile = join(plane.logDir, `node-agent-${nodeName}.log`);
    mkdirSync(join(this.dir, 'pods'), { recursive: true });
    const services: ServiceDirectory = {
      service: (host, ns) => this.service(host, ns),
      backend: (service, port) => this.backend(service, port),
      podAddress: (pod, service, ns) => this.podAddress(pod, service, ns),
    };
    this.host = {
      api,
      cli: transpiledCli(),
      podsDir: join(this.dir, 'pods'),
      services,
      restartBackoff: options.restartBackoff ?? { initialMs: 1000, maxMs: 10_000 },
      start: (logName, command, args, env, cwd) => plane.processes.start(logName, command, args, env, { cwd }),
      log: (message, fields) => this.log(message, fields),
      terminating: (termination) => this.terminations.push(termination),
      podAddress: (namespace, name) => this.addresses.of(namespace, name),
      claimDir: (namespace, claim, uid) => this.claimDir(namespace, claim, uid),
    };
  }

  /**
   * Serves a Service's port from `backend` (e.g. a redis-server the test started), for pods that
   * name the Service: it wins over the pods the Service selects.
   */
  addServiceBackend(namespace: string, service: string, port: number, backend: Backend): void {
    this.backends.set(`${namespace}/${service}:${port}`, backend);
  }

  /** A pod the agent runs now (or ran, until the pod is gone). */
  pod(namespace: string, name: string): AgentPod | undefined {
    const worker = [...this.pods.values()].find((p) => p.namespace === namespace && p.name === name);
    if (!worker) return undefined;
    return {
      uid: worker.uid,
      dir: worker.dir,
      ip: worker.ip,
      volumes: Object.fromEntries(worker.volumeDirs),
      launches: Object.fromEntries(worker.containers.filter((c) => c.launch).map((c) => [c.name, c.launch!])),
      termination: worker.termination,
    };
  }

  /** Waits for `what` about a pod of the agent. */
  waitForPod<T>(namespace: string, name: string, what: string, probe: (pod: AgentPod) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return waitFor(
      `${what} (${namespace}/${name})`,
      () => {
        const pod = this.pod(namespace, name);
        return pod ? probe(pod) : undefined;
      },
      timeoutMs,
      50,
    );
  }

  private async boot(labels: Record<string, string>): Promise<void> {
    this.heartbeat = new NodeHeartbeat(this.api, this.nodeName, labels, (error) => this.log('heartbeat failed', { error: String(error) }));
    await this.heartbeat.register();
    // TaintNodesByCondition taints a new Node not-ready until the node lifecycle controller has seen it Ready.
    await waitFor(
      `Node ${this.nodeName} Ready and untainted`,
      async () => {
        const node = await this.api.get(`/api/v1/nodes/${this.nodeName}`);
        const ready = node.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
        return ready && !(node.spec?.taints ?? []).length ? true : undefined;
      },
      60_000,
    );
    this.watching = this.api.listAndWatch<any>(
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.nodeName}`)}`,
      (event) => this.onPodEvent(event),
      this.watch.signal,
      (error) => this.log('pod watch failed', { error: String(error) }),
    );
    this.log('serving', { node: this.nodeName });
  }

  private onPodEvent(event: WatchEvent<any>): void {
    try {
      this.handlePodEvent(event);
    } catch (error) {
      this.log('pod event failed', { type: event.type, error: error instanceof Error ? error.stack : String(error) });
    }
  }

  private handlePodEvent(event: WatchEvent<any>): void {
    const pod = event.object;
    const uid: string = pod.metadata.uid;
    const worker = this.pods.get(uid);
    if (event.type === 'DELETED') {
      if (worker) {
        worker.removed();
        this.pods.delete(uid);
        this.log('pod gone', { pod: worker.key });
      }
      this.ignored.delete(uid);
      return;
    }
    if (worker) return worker.update(pod);
    if (this.ignored.has(uid)) return;
    const kind = podKind(pod);
    if (!kind) {
      this.ignored.add(uid);
      this.log('not the runtime or the Redis image: left alone', { pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      // Finished before this agent started: nothing to run.
      this.ignored.add(uid);
      return;
    }
    const created = new PodWorker(pod, this.host, kind);
    this.pods.set(uid, created);
    this.log('pod bound', { pod: created.key, uid, kind, ip: created.ip });
    void created.run().catch((error) => this.log('pod failed to run', { pod: created.key, error: String(error) }));
    if (pod.metadata.deletionTimestamp) created.update(pod);
  }

  private async service(host: string, namespace: string): Promise<ServiceInfo | undefined> {
    const ref = serviceNameOf(host, namespace);
    if (!ref) return undefined;
    let service: any;
    try {
      service = await this.api.find<any>(`/api/v1/namespaces/${ref.namespace}/services/${ref.name}`);
    } catch (error) {
      throw new ConfigError(`cannot read Service ${ref.namespace}/${ref.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!service) return undefined;
    return { namespace: ref.namespace, name: ref.name, ports: service.spec.ports ?? [], selector: service.spec.selector, clusterIP: service.spec.clusterIP };
  }

  /** Rule 4 of rewrite.ts: a pod's name under a headless Service is the pod's address (allocated before the pod exists, as DNS names are stable). */
  private async podAddress(pod: string, service: string, namespace: string): Promise<string | undefined> {
    const info = await this.service(`${service}.${namespace}.svc`, namespace);
    if (!info) throw new ConfigError(`waiting for the headless Service ${namespace}/${service} of pod ${pod}`, 'ContainerCreating');
    return info.clusterIP === 'None' ? this.addresses.of(namespace, pod) : undefined;
  }

  /**
   * One folder per claim, named by its uid, outside every pod's folder: a StatefulSet pod restarted finds
   * its nodes.conf and AOF again; a claim deleted and made anew (another uid) starts empty, and the
   * folders of its earlier uids go.
   */
  private claimDir(namespace: string, claim: string, uid: string): string {
    const root = join(this.dir, 'claims');
    mkdirSync(root, { recursive: true });
    const prefix = `${namespace}_${claim}_`;
    for (const entry of readdirSync(root)) {
      if (entry.startsWith(prefix) && entry !== `${prefix}${uid}`) {
        rmSync(join(root, entry), { recursive: true, force: true });
        this.log('claim folder of a deleted claim removed', { claim: `${namespace}/${claim}`, folder: entry });
      }
    }
    const dir = join(root, `${prefix}${uid}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private backend(service: ServiceInfo, port: number): Backend | undefined {
    const registered = this.backends.get(`${service.namespace}/${service.name}:${port}`);
    if (registered) return registered;
    const selector = service.selector ?? {};
    if (Object.keys(selector).length === 0) return undefined;
    const servicePort = service.ports.find((p) => p.port === port);
    const target = servicePort?.targetPort ?? port;
    for (const pod of this.pods.values()) {
      if (pod.namespace !== service.namespace || !pod.isReady) continue;
      if (!Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) continue;
      for (const c of pod.containers) {
        const declared = (c.spec.ports ?? []).find((p: any) => (typeof target === 'number' || /^\d+$/.test(target) ? p.containerPort === Number(target) : p.name === target));
        if (declared && c.ports?.has(declared.containerPort)) return { host: pod.ip, port: c.ports.get(declared.containerPort)! };
      }
    }
    return undefined;
  }

  private log(message: string, fields: object = {}): void {
    try {
      appendFileSync(this.logFile, `${new Date().toISOString()} ${message} ${JSON.stringify(fields)}\n`);
    } catch {
      // The run folder is gone: the plane stopped.
    }
  }

  /** Stops serving: every pod process killed at once, the Node left as it is (the cluster goes next). */
  async stop(): Promise<void> {
    this.watch.abort();
    this.heartbeat?.stop();
    await this.watching?.catch(() => undefined);
    for (const pod of this.pods.values()) pod.kill();
    this.pods.clear();
    this.api.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
