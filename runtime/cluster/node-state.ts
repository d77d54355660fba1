/** What every listed node says: its id, its CLUSTER NODES view, CLUSTER INFO and key count, read at once from all. */
import { errorMessage } from '../log';
import { NodeAddress } from './addresses';
import { NodeClient, UnreachableNode } from './node-client';
import { SLOT_COUNT } from './slots';
import { ClusterInfo, ClusterNodeEntry, myselfOf, ReplicationLink } from './topology';

export interface NodeState {
  readonly node: NodeAddress;
  readonly id: string;
  /** Its CLUSTER NODES, its own line included. */
  readonly view: readonly ClusterNodeEntry[];
  /** Its own line of the view. */
  readonly myself: ClusterNodeEntry;
  readonly info: ClusterInfo;
  readonly keys: number;
  /** A replica's link to its master (INFO replication); undefined on a master. */
  readonly link?: ReplicationLink;
}

export interface ClusterState {
  /** The nodes that answered, in the order listed. */
  readonly states: readonly NodeState[];
  /** Listed nodes that did not answer. */
  readonly unreachable: readonly UnreachableNode[];
}

export async function readNode(client: NodeClient): Promise<NodeState> {
  const [id, view, info, keys, link] = await Promise.all([client.myId(), client.nodes(), client.info(), client.keyCount(), client.replicationLink()]);
  const myself = myselfOf(view);
  if (myself.id !== id) throw new Error(`${client.address}: CLUSTER MYID says ${id} but CLUSTER NODES flags ${myself.id} as myself`);
  return { node: client.node, id, view, myself, info, keys, ...(link ? { link } : {}) };
}

/** Reads every client; a node whose reads fail counts as unreachable, with the reason. */
export async function readCluster(clients: readonly NodeClient[], unreachable: readonly UnreachableNode[] = []): Promise<ClusterState> {
  const results = await Promise.all(clients.map((c) => readNode(c).catch((error: unknown) => ({ node: c.node, error: errorMessage(error) }))));
  return {
    states: results.filter((r): r is NodeState => 'id' in r),
    unreachable: [...unreachable, ...results.filter((r): r is UnreachableNode => !('id' in r))],
  };
}

/** Reads every client and throws when one cannot be read (create needs all of them). */
export async function readAll(clients: readonly NodeClient[]): Promise<NodeState[]> {
  return Promise.all(clients.map((c) => readNode(c)));
}

/** The master id the node names for each slot (undefined: none). */
export function slotOwners(state: NodeState): (string | undefined)[] {
  const owners = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  for (const entry of state.view) {
    if (entry.role !== 'master') continue;
    for (const r of entry.slots) for (let slot = r.start; slot <= r.end; slot++) owners[slot] = entry.id;
  }
  return owners;
}
