/**
 * The Node the agent plays the kubelet of: registered Ready, kept Ready by a Lease in
 * kube-node-lease renewed every few seconds (what the node lifecycle controller reads) and a
 * status heartbeat, so it is never tainted not-ready or unreachable.
 */
import { ApiClient, ApiError } from './api';

/** What the agent's Node offers the scheduler (the machine's real size does not matter: pods are small processes). */
export const NODE_ALLOCATABLE = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' } as const;

const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_SECONDS = 40;

/** Kubernetes' MicroTime: RFC 3339 with microseconds. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Kubernetes' Time: RFC 3339 in whole seconds. */
export function apiTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function conditions(now: string): object[] {
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
  return [
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'node agent has sufficient memory available'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'node agent has no disk pressure'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'node agent has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', 'e2e node agent is posting ready status'),
  ];
}

export function nodeObject(name: string, labels: Record<string, string>): object {
  const now = apiTime();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels } },
    spec: {},
    status: {
      capacity: NODE_ALLOCATABLE,
      allocatable: NODE_ALLOCATABLE,
      conditions: conditions(now),
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'e2e node agent',
        containerRuntimeVersion: 'e2e-node-agent://1',
        kubeletVersion: 'v1.35.5',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** Registers the Node (replacing one of the same name left from before) and keeps it Ready until stop(). */
export class NodeHeartbeat {
  private timer?: NodeJS.Timeout;
  private beats = 0;

  constructor(
    private readonly api: ApiClient,
    readonly name: string,
    private readonly labels: Record<string, string>,
    private readonly onError: (error: unknown) => void,
  ) {}

  async register(): Promise<string> {
    let node: { metadata: { uid: string } };
    try {
      node = await this.api.call('POST', '/api/v1/nodes', nodeObject(this.name, this.labels));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      node = await this.api.get(`/api/v1/nodes/${this.name}`);
      await this.postStatus();
    }
    await this.renewLease(node.metadata.uid);
    this.timer = setInterval(() => void this.beat(node.metadata.uid), 5000);
    return node.metadata.uid;
  }

  private async beat(uid: string): Promise<void> {
    try {
      await this.renewLease(uid);
      // The status itself every 20 s (the kubelet posts it on change or every few minutes).
      if (++this.beats % 4 === 0) await this.postStatus();
    } catch (error) {
      this.onError(error);
    }
  }

  private async postStatus(): Promise<void> {
    await this.api.call('PATCH', `/api/v1/nodes/${this.name}/status`, { status: { conditions: conditions(apiTime()) } }, 'application/strategic-merge-patch+json');
  }

  private async renewLease(nodeUid: string): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`;
    const spec = { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
    try {
      await this.api.call('PATCH', `${path}/${this.name}`, { spec }, 'application/merge-patch+json');
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      await this.api.call('POST', path, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: LEASE_NAMESPACE, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: nodeUid }] },
        spec,
      });
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
