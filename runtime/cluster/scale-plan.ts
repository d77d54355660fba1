/**
 * What `cluster scale` must do to reach a desired membership (pure, from what the nodes say): which
 * members leave, which listed nodes join, which nodes are the masters afterwards, and which master
 * every replica follows (a replica on another host than its master wherever the nodes allow it).
 * Every refusal comes before any change.
 */
import { ClusterRefusal, byHostRoundRobin, placeReplicas } from './create-plan';
import { NodeState } from './node-state';
import { ClusterNodeEntry } from './topology';

export interface ScalePlan {
  /** Listed nodes that know only themselves: to MEET. */
  readonly joining: readonly NodeState[];
  /** Members not listed: drained, reset, forgotten. Their CLUSTER NODES entries (they may not answer). */
  readonly leaving: readonly ClusterNodeEntry[];
  /** The masters afterwards: the masters that stay first, then new ones. */
  readonly masters: readonly NodeState[];
  /** Replicas to (re-)attach, with their master. */
  readonly replicate: readonly { readonly node: NodeState; readonly master: NodeState }[];
}

/**
 * The members of the cluster of the first node that is in one (listed first, then seeds): what it and every
 * member that answered know (the union: a node forgotten by some before a crash is still known to others).
 */
export function membersOf(states: readonly NodeState[]): Map<string, ClusterNodeEntry> {
  const members = new Map<string, ClusterNodeEntry>();
  const anchor = states.find((s) => s.view.length > 1 || s.myself.slots.length > 0);
  if (!anchor) return members;
  const add = (s: NodeState) => {
    for (const e of s.view) if (!e.flags.includes('handshake') && !e.flags.includes('noaddr') && !members.has(e.id)) members.set(e.id, e);
  };
  add(anchor);
  for (const s of states) if (members.has(s.id)) add(s);
  return members;
}

/**
 * `listed` are the desired nodes' states (in the order listed), `seeds` any other node read (a member of the
 * current cluster that may leave).
 */
export function planScale(listed: readonly NodeState[], seeds: readonly NodeState[], replicasPerMaster: number): ScalePlan {
  const members = membersOf([...listed, ...seeds]);
  if (members.size === 0) throw new ClusterRefusal('no node of --nodes or --seed is a member of a cluster: create the cluster first (cluster create); nothing was changed');
  const listedIds = new Set(listed.map((s) => s.id));
  const joining = listed.filter((s) => !members.has(s.id));
  for (const s of joining) {
    if (s.view.length > 1)
      throw new ClusterRefusal(`${s.node.address} belongs to another cluster: it knows ${s.view.length - 1} other nodes none of which is a member here; nothing was changed`);
    if (s.keys > 0 || s.myself.slots.length > 0)
      throw new ClusterRefusal(`${s.node.address} holds ${s.keys} keys or serves slots on its own: scale takes only empty nodes; nothing was changed`);
  }
  const leaving = [...members.values()].filter((e) => !listedIds.has(e.id));
  const leavingIds = new Set(leaving.map((e) => e.id));
  const masterCount = listed.length / (replicasPerMaster + 1);

  // Masters: those that stay and serve slots, then staying empty masters, then joining nodes, round-robin over hosts.
  const staying = listed.filter((s) => members.has(s.id));
  const serving = staying.filter((s) => s.myself.role === 'master' && s.myself.slots.length > 0);
  if (serving.length > masterCount) {
    throw new ClusterRefusal(
      `${serving.length} listed nodes serve slots (${serving.map((s) => s.node.address).join(', ')}), more than the ${masterCount} masters ${listed.length} nodes make with ` +
        `${replicasPerMaster} replicas each: list fewer of them (a master not listed is drained); nothing was changed`,
    );
  }
  const emptyMasters = byHostRoundRobin(staying.filter((s) => s.myself.role === 'master' && s.myself.slots.length === 0));
  const fresh = byHostRoundRobin(joining);
  const masters = [...serving, ...emptyMasters, ...fresh].slice(0, masterCount);
  if (masters.length < masterCount) {
    throw new ClusterRefusal(
      `${masterCount} masters are needed but only ${masters.length} listed nodes can be masters (replicas that stay are not promoted by scale); nothing was changed`,
    );
  }
  const masterIds = new Set(masters.map((m) => m.id));
  const load = new Map(masters.map((m) => [m.id, 0]));
  const waiting: NodeState[] = [];
  for (const s of listed) {
    if (masterIds.has(s.id)) continue;
    const master = s.myself.role === 'replica' ? s.myself.masterId : undefined;
    if (master && masterIds.has(master) && !leavingIds.has(master) && (load.get(master) ?? 0) < replicasPerMaster) load.set(master, (load.get(master) ?? 0) + 1);
    else waiting.push(s);
  }
  const replicate = placeReplicas(masters, load, byHostRoundRobin(waiting), replicasPerMaster).map(({ replica, master }) => ({ node: replica, master }));
  return { joining, leaving, masters, replicate };
}
