/**
 * What `cluster create` must do, from what the nodes say (pure, so every refusal comes before any
 * change and a rerun plans only what is missing): which nodes are masters, the slots each still
 * needs, and which master each replica follows, a replica on another host than its master wherever
 * the nodes allow it.
 */
import { NodeState } from './node-state';
import { countSlots, evenShare, formatRange, rangesOf, SLOT_COUNT, SlotRange, slotsOf } from './slots';

/** A node that must not be made part of this cluster; nothing was changed. */
export class ClusterRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterRefusal';
  }
}

export interface PlannedMaster {
  readonly node: NodeState;
  /** Its even share of the slots. */
  readonly share: SlotRange;
  /** Slots of its share no node serves yet: to ADDSLOTSRANGE. */
  readonly add: readonly SlotRange[];
}

export interface PlannedReplica {
  readonly node: NodeState;
  readonly master: NodeState;
  /** Already replicating `master`. */
  readonly attached: boolean;
}

export interface CreatePlan {
  readonly masters: readonly PlannedMaster[];
  readonly replicas: readonly PlannedReplica[];
}

/** The nodes ordered round-robin over their hosts (each host's nodes in the order listed), so the first masters land on different hosts. */
export function byHostRoundRobin<T extends { readonly node: { readonly host: string } }>(nodes: readonly T[]): T[] {
  const hosts = new Map<string, T[]>();
  for (const n of nodes) hosts.set(n.node.host, [...(hosts.get(n.node.host) ?? []), n]);
  const queues = [...hosts.values()];
  const order: T[] = [];
  for (let i = 0; order.length < nodes.length; i++) for (const q of queues) if (i < q.length) order.push(q[i]);
  return order;
}

/** Refuses nodes of another cluster, nodes holding keys, and nodes serving slots on their own. */
function refuseStrangers(states: readonly NodeState[]): void {
  const ids = new Set(states.map((s) => s.id));
  for (const s of states) {
    const foreign = s.view.filter((e) => !e.flags.includes('handshake') && !ids.has(e.id)).sort((a, b) => a.address.localeCompare(b.address));
    if (foreign.length > 0) {
      throw new ClusterRefusal(
        `${s.node.address} belongs to another cluster: it knows ${foreign.map((e) => `${e.address} (${e.id})`).join(', ')}, not in --nodes; nothing was changed`,
      );
    }
  }
  for (const s of states) {
    const knowsOthers = s.view.some((e) => e.id !== s.id && ids.has(e.id));
    const servesHere = s.myself.slots.length > 0 && knowsOthers;
    if (s.keys > 0 && !servesHere && s.myself.role !== 'replica') {
      throw new ClusterRefusal(
        `${s.node.address} holds ${s.keys} key${s.keys === 1 ? '' : 's'}: create takes only empty nodes (or this cluster's own on a rerun); nothing was changed`,
      );
    }
    if (s.myself.slots.length > 0 && !knowsOthers && states.length > 1) {
      throw new ClusterRefusal(`${s.node.address} serves slots ${s.myself.slots.map(formatRange).join(', ')} on its own: it belongs to another cluster; nothing was changed`);
    }
  }
}

export function planCreate(states: readonly NodeState[], replicasPerMaster: number): CreatePlan {
  refuseStrangers(states);
  const masterCount = states.length / (replicasPerMaster + 1);
  const ids = new Set(states.map((s) => s.id));
  const order = byHostRoundRobin(states);
  const isFixedMaster = (s: NodeState) => s.myself.slots.length > 0;
  const isFixedReplica = (s: NodeState) => s.myself.role === 'replica' && s.myself.masterId !== undefined && ids.has(s.myself.masterId);
  const fixed = order.filter(isFixedMaster);
  if (fixed.length > masterCount) {
    throw new ClusterRefusal(
      `${fixed.length} nodes already serve slots (${fixed.map((s) => s.node.address).join(', ')}), more than the ${masterCount} masters asked for; nothing was changed`,
    );
  }
  const fill = order.filter((s) => !isFixedMaster(s) && !isFixedReplica(s)).slice(0, masterCount - fixed.length);
  const chosen = new Set([...fixed, ...fill]);
  const masterNodes = order.filter((s) => chosen.has(s));

  // Slots served anywhere, as any node says: those stay where they are.
  const served = new Set<number>();
  for (const s of states) for (const e of s.view) if (e.role === 'master') for (const slot of slotsOf(e.slots)) served.add(slot);
  const masters = masterNodes.map((node, i) => {
    const share = evenShare(i, masterCount);
    const add = rangesOf(slotsOf([share]).filter((slot) => !served.has(slot)));
    if (countSlots(add) + countSlots(node.myself.slots) === 0) {
      throw new ClusterRefusal(
        `${node.node.address} would be a master without slots: the cluster's ${SLOT_COUNT} slots are served already (adding nodes is not create's work); nothing was changed`,
      );
    }
    return { node, share, add };
  });

  const replicas: PlannedReplica[] = [];
  const load = new Map(masterNodes.map((m) => [m.id, 0]));
  for (const s of order.filter(isFixedReplica)) {
    const master = states.find((m) => m.id === s.myself.masterId) as NodeState;
    replicas.push({ node: s, master, attached: true });
    load.set(master.id, (load.get(master.id) ?? 0) + 1);
  }
  const waiting = order.filter((s) => !chosen.has(s) && !isFixedReplica(s));
  for (const { replica, master } of placeReplicas(masterNodes, load, waiting, replicasPerMaster)) replicas.push({ node: replica, master, attached: false });
  return { masters, replicas };
}

/**
 * Which master each waiting node replicates: one with room (fewer than `replicasPerMaster`, counting `load`, which
 * is updated), on another host than the replica wherever one is, the least loaded first; the replica with the
 * fewest masters on other hosts is placed first, so the others keep theirs. `waiting` in the order to prefer.
 */
export function placeReplicas<T extends { readonly id: string; readonly node: { readonly host: string; readonly address: string } }>(
  masters: readonly T[],
  load: Map<string, number>,
  waiting: readonly T[],
  replicasPerMaster: number,
): { replica: T; master: T }[] {
  const queue = [...waiting];
  const placed: { replica: T; master: T }[] = [];
  const hasRoom = (m: T) => (load.get(m.id) ?? 0) < replicasPerMaster;
  const otherHost = (r: T) => masters.filter((m) => hasRoom(m) && m.node.host !== r.node.host);
  while (queue.length > 0) {
    queue.sort((a, b) => otherHost(a).length - otherHost(b).length || waiting.indexOf(a) - waiting.indexOf(b));
    const replica = queue.shift() as T;
    const candidates = otherHost(replica).length > 0 ? otherHost(replica) : masters.filter(hasRoom);
    const [master] = [...candidates].sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0));
    if (!master) throw new ClusterRefusal(`no master has room for ${replica.node.address} with ${replicasPerMaster} replicas per master; nothing was changed`);
    placed.push({ replica, master });
    load.set(master.id, (load.get(master.id) ?? 0) + 1);
  }
  return placed;
}
