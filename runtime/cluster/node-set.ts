/**
 * Where a cluster's nodes run, behind one interface: an address list of local processes (`--nodes`), or the pods
 * of a StatefulSet reached through the Kubernetes API. The Redis work (create, scale, rebalance, upgrade,
 * reconcile) is written once against it; only how nodes come, go and restart differs.
 */
import type { Logger } from '../log';
import type { NodeAddress } from './addresses';

export interface NodeSet {
  /** What the set is, for progress and errors (`nodes 127.0.0.1:7000,...`, `statefulset ns/name`). */
  readonly description: string;
  /** The nodes that should be cluster members now, in order (ordinal order for a StatefulSet). */
  members(): Promise<readonly NodeAddress[]>;
}

/** A set that can grow and shrink (a StatefulSet's replicas); address mode takes the membership as given instead. */
export interface ScalableNodeSet extends NodeSet {
  /** Grows to `count` nodes; resolves with the members once every new node answers PING. */
  grow(count: number, log: Logger): Promise<readonly NodeAddress[]>;
  /** Shrinks to `count` nodes (the highest ordinals leave); resolves once their pods are gone and their storage deleted. */
  shrink(count: number, log: Logger): Promise<void>;
}

/** A set whose nodes can be restarted one by one on a new configuration (the upgrade procedure's one dependency). */
export interface RestartableNodeSet extends NodeSet {
  /** Members still on an older configuration than the desired one, in the order to restart them (highest ordinal first). */
  outdated(): Promise<readonly NodeAddress[]>;
  /** Restarts one member on the desired configuration; resolves with its address once it answers again. */
  restart(node: NodeAddress, log: Logger): Promise<NodeAddress>;
}
