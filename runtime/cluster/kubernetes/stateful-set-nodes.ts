/**
 * The nodes of a Redis Cluster as the pods of a StatefulSet, reached through the Kubernetes API: grow and
 * shrink through the scale subresource, restarts through the rolling update's partition (the pod template
 * rolls only where the tool lowers it), each claim of a removed ordinal deleted once its pod is gone.
 */
import { createLogger, Logger } from '../../log';
import { REDIS_PORT } from '../../contract';
import { NodeAddress } from '../addresses';
import { connectNodes, NodeConnectionOptions } from '../node-client';
import type { RestartableNodeSet, ScalableNodeSet } from '../node-set';
import { Probe, waitUntil } from '../wait';
import { KubernetesApi, KubernetesApiError, Pod, REVISION_LABEL, StatefulSet } from './api-client';

/** outdated() has no logger to report its short wait to. */
const QUIET = createLogger({ level: 'error' });

/** How a member is addressed: its stable DNS name under the headless Service, or its pod IP. */
export type NodeAddressing = 'dns' | 'pod-ip';

export interface StatefulSetNodesOptions {
  readonly namespace: string;
  readonly name: string;
  /** How long each wait (pods Ready, pods gone, a restarted pod back) may take. */
  readonly timeoutMs: number;
  /** @default 'dns' */
  readonly addressing?: NodeAddressing;
  /** Connection options of a node, for the PING that tells a pod answers. */
  readonly connection: NodeConnectionOptions;
  /**
   * Where a pod's Redis listens, when neither addressing fits (tests whose pods' servers run on loopback ports).
   * @default - by `addressing`, port 6379
   */
  readonly addressOf?: (pod: Pod, statefulSet: StatefulSet) => NodeAddress;
}

/** The ordinal of a StatefulSet pod (`<name>-<ordinal>`), undefined for a pod of another name. */
export function podOrdinal(statefulSet: string, pod: string): number | undefined {
  const match = new RegExp(`^${statefulSet.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(pod);
  return match ? Number(match[1]) : undefined;
}

export function isPodReady(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export class StatefulSetNodes implements ScalableNodeSet, RestartableNodeSet {
  readonly description: string;

  constructor(
    private readonly api: KubernetesApi,
    private readonly options: StatefulSetNodesOptions,
  ) {
    this.description = `statefulset ${options.namespace}/${options.name}`;
  }

  async members(): Promise<readonly NodeAddress[]> {
    const sts = await this.statefulSet();
    const pods = await this.podsByOrdinal(sts);
    const replicas = sts.spec.replicas ?? 1;
    return Array.from({ length: replicas }, (_, ordinal) => {
      const pod = pods.get(ordinal);
      if (!pod) throw new Error(`${this.description}: pod ${this.options.name}-${ordinal} does not exist`);
      return this.addressOf(pod, sts);
    });
  }

  async grow(count: number, log: Logger): Promise<readonly NodeAddress[]> {
    const sts = await this.statefulSet();
    const replicas = sts.spec.replicas ?? 1;
    if (count < replicas) throw new Error(`${this.description} has ${replicas} pods; grow(${count}) would shrink it`);
    // First the partition, so no new pod is ever at or above it: a template change then rolls none of them by itself.
    await this.holdRollout(sts, count, log);
    if (count > replicas) {
      log.info('scaling the statefulset up', { statefulset: this.description, from: replicas, to: count });
      await this.api.scaleStatefulSet(this.options.namespace, this.options.name, count);
    }
    await waitUntil(`${count} pods of ${this.description} Ready`, this.options.timeoutMs, () => this.readyProbe(count), log);
    const members = await this.members();
    await waitUntil(`the new pods of ${this.description} to answer PING`, this.options.timeoutMs, () => this.pingProbe(members.slice(replicas), log), log);
    return members;
  }

  async shrink(count: number, log: Logger): Promise<void> {
    const sts = await this.statefulSet();
    const replicas = sts.spec.replicas ?? 1;
    if (count > replicas) throw new Error(`${this.description} has ${replicas} pods; shrink(${count}) would grow it`);
    if (count < replicas) {
      log.info('scaling the statefulset down', { statefulset: this.description, from: replicas, to: count });
      await this.api.scaleStatefulSet(this.options.namespace, this.options.name, count);
    }
    await waitUntil(`pods of ${this.description} from ordinal ${count} on to be gone`, this.options.timeoutMs, () => this.goneProbe(sts, count), log);
    // Only now: a claim deleted under a running pod would stay until the pod ends, and a pod recreated meanwhile would start empty.
    for (const template of sts.spec.volumeClaimTemplates ?? []) {
      // The removed ordinals, and on past them while claims exist: a rerun after a crash between the scale and the deletes finds them.
      for (let ordinal = count; ; ordinal++) {
        const claim = `${template.metadata.name}-${this.options.name}-${ordinal}`;
        const deleted = await this.deleteClaim(claim, ordinal >= replicas);
        if (deleted) log.info('deleted the claim of a removed pod', { claim, namespace: this.options.namespace });
        if (!deleted && ordinal >= replicas) break;
      }
    }
  }

  async outdated(): Promise<readonly NodeAddress[]> {
    const sts = await this.observed();
    const pods = await this.podsByOrdinal(sts);
    const replicas = sts.spec.replicas ?? 1;
    const outdated: NodeAddress[] = [];
    for (let ordinal = replicas - 1; ordinal >= 0; ordinal--) {
      const pod = pods.get(ordinal);
      if (pod && pod.metadata.labels?.[REVISION_LABEL] !== sts.status?.updateRevision) outdated.push(this.addressOf(pod, sts));
    }
    return outdated;
  }

  async restart(node: NodeAddress, log: Logger): Promise<NodeAddress> {
    const sts = await this.observed(log);
    const pods = await this.podsByOrdinal(sts);
    const entry = [...pods.entries()].find(([, pod]) => this.addressOf(pod, sts).address === node.address);
    if (!entry) throw new Error(`${this.description}: no pod is at ${node.address}`);
    const [ordinal] = entry;
    const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    // Lowering the partition to the ordinal lets the controller replace exactly this pod (those above are updated already).
    if (partition > ordinal) {
      log.info('lowering the partition', { statefulset: this.description, from: partition, to: ordinal, pod: `${this.options.name}-${ordinal}` });
      await this.api.setPartition(this.options.namespace, this.options.name, ordinal);
    }
    const revision = sts.status?.updateRevision;
    let address: NodeAddress | undefined;
    await waitUntil(
      `pod ${this.options.name}-${ordinal} Ready on revision ${revision}`,
      this.options.timeoutMs,
      async () => {
        const pod = (await this.podsByOrdinal(sts)).get(ordinal);
        const done = pod !== undefined && isPodReady(pod) && pod.metadata.labels?.[REVISION_LABEL] === revision;
        if (done) address = this.addressOf(pod, sts);
        return { done, detail: pod ? `revision ${pod.metadata.labels?.[REVISION_LABEL]}, ${isPodReady(pod) ? 'Ready' : 'not Ready'}` : 'no pod' };
      },
      log,
    );
    await waitUntil(`pod ${this.options.name}-${ordinal} to answer PING`, this.options.timeoutMs, () => this.pingProbe([address!], log), log);
    // The last outdated pod done: the partition goes back above every pod, so the next template change waits for the tool again.
    if ((await this.outdated()).length === 0) await this.holdRollout(await this.statefulSet(), sts.spec.replicas ?? 1, log);
    return address!;
  }

  /** Raises the partition to `count` (never lowers it): pods below it keep their revision until the tool restarts them. */
  private async holdRollout(sts: StatefulSet, count: number, log: Logger): Promise<void> {
    const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (partition >= count) return;
    log.info('raising the partition', { statefulset: this.description, from: partition, to: count });
    await this.api.setPartition(this.options.namespace, this.options.name, count);
  }

  /**
   * Deletes one claim; beyond the ordinals just removed, one the Role may not delete (403: past
   * `operations.maxMasters`) ends the search like a missing one, since no pod of this set can have made it.
   */
  private async deleteClaim(claim: string, beyondRemoved: boolean): Promise<boolean> {
    try {
      return await this.api.deleteClaim(this.options.namespace, claim);
    } catch (error) {
      if (beyondRemoved && error instanceof KubernetesApiError && error.status === 403) return false;
      throw error;
    }
  }

  private statefulSet(): Promise<StatefulSet> {
    return this.api.getStatefulSet(this.options.namespace, this.options.name);
  }

  /** The StatefulSet once its controller has seen its latest spec, so updateRevision is the desired template's; a stale status is an error, never an answer. */
  private async observed(log: Logger = QUIET): Promise<StatefulSet> {
    let sts = await this.statefulSet();
    const seen = (s: StatefulSet) => (s.status?.observedGeneration ?? 0) >= (s.metadata.generation ?? 0);
    if (seen(sts)) return sts;
    await waitUntil(
      `the StatefulSet controller to observe ${this.description}`,
      this.options.timeoutMs,
      async () => {
        sts = await this.statefulSet();
        return { done: seen(sts), detail: `generation ${sts.metadata.generation}, observed ${sts.status?.observedGeneration ?? 'none'}` };
      },
      log,
    );
    return sts;
  }

  private async podsByOrdinal(sts: StatefulSet): Promise<Map<number, Pod>> {
    const pods = await this.api.listPods(this.options.namespace, sts.spec.selector.matchLabels ?? {});
    const byOrdinal = new Map<number, Pod>();
    for (const pod of pods) {
      const ordinal = podOrdinal(this.options.name, pod.metadata.name);
      if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
    }
    return byOrdinal;
  }

  private addressOf(pod: Pod, sts: StatefulSet): NodeAddress {
    if (this.options.addressOf) return this.options.addressOf(pod, sts);
    const port = REDIS_PORT;
    if ((this.options.addressing ?? 'dns') === 'pod-ip') {
      const ip = pod.status?.podIP;
      if (!ip) throw new Error(`${this.description}: pod ${pod.metadata.name} has no IP yet`);
      return { host: ip, port, address: ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}` };
    }
    if (!sts.spec.serviceName) throw new Error(`${this.description} names no serviceName, so its pods have no DNS names (use pod-ip addressing)`);
    const host = `${pod.metadata.name}.${sts.spec.serviceName}.${this.options.namespace}.svc`;
    return { host, port, address: `${host}:${port}` };
  }

  private async readyProbe(count: number): Promise<Probe> {
    const sts = await this.statefulSet();
    const pods = await this.podsByOrdinal(sts);
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => {
      const pod = pods.get(i);
      return !pod || !isPodReady(pod);
    });
    return { done: missing.length === 0, detail: `not Ready: ${missing.map((i) => `${this.options.name}-${i}`).join(', ')}` };
  }

  private async goneProbe(sts: StatefulSet, count: number): Promise<Probe> {
    const left = [...(await this.podsByOrdinal(sts)).keys()].filter((ordinal) => ordinal >= count).sort((a, b) => a - b);
    return { done: left.length === 0, detail: `still there: ${left.map((i) => `${this.options.name}-${i}`).join(', ')}` };
  }

  private async pingProbe(nodes: readonly NodeAddress[], log: Logger): Promise<Probe> {
    if (nodes.length === 0) return { done: true, detail: '' };
    const clients = await connectNodes(nodes, { ...this.options.connection, connectTimeoutMs: 2_000 }, log);
    try {
      const silent: string[] = clients.unreachable.map((u) => u.node.address);
      for (const client of clients.clients) {
        try {
          if ((await client.call('PING', 'PING')) !== 'PONG') silent.push(client.address);
        } catch {
          silent.push(client.address);
        }
      }
      return { done: silent.length === 0, detail: `no PONG from ${silent.join(', ')}` };
    } finally {
      await clients.close();
    }
  }
}
