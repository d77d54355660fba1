/**
 * `cluster check`: the verdict on what every node says (pure: the state read from the nodes in, the
 * report out). The cluster is ok when every one of the 16384 slots is served by one master that
 * every reachable node names, no slot is open (importing / migrating), no node is down or flagged
 * fail / pfail by anyone, every node reports cluster_state:ok, and every master serving slots has
 * the replicas asked for, each with its replication link up.
 */
import { NodeAddress } from './addresses';
import { ClusterState, slotOwners } from './node-state';
import { formatRange, parseRange, rangesOf, SLOT_COUNT, slotsOf } from './slots';
import { ClusterNodeEntry, isFailing } from './topology';

export interface CheckExpectations {
  /** Replicas every master serving slots must have. */
  readonly replicasPerMaster: number;
}

export type Problem =
  | { readonly problem: 'unreachable'; readonly node: string; readonly error: string; readonly message: string }
  | { readonly problem: 'unknown-nodes'; readonly node: string; readonly unknown: readonly string[]; readonly message: string }
  | { readonly problem: 'unlisted-node'; readonly node: string; readonly id: string; readonly seenBy: readonly string[]; readonly message: string }
  | { readonly problem: 'failed-node'; readonly node: string; readonly id: string; readonly fail: readonly string[]; readonly pfail: readonly string[]; readonly message: string }
  | { readonly problem: 'uncovered-slots'; readonly slots: readonly string[]; readonly count: number; readonly message: string }
  | {
      readonly problem: 'slots-disagree';
      readonly slots: readonly string[];
      readonly count: number;
      /** Observer address -> the owner it names (null: none). */
      readonly owners: Readonly<Record<string, string | null>>;
      readonly message: string;
    }
  | { readonly problem: 'open-slot'; readonly node: string; readonly slot: number; readonly state: 'migrating' | 'importing'; readonly peer: string; readonly message: string }
  | { readonly problem: 'cluster-state-fail'; readonly nodes: readonly string[]; readonly message: string }
  | { readonly problem: 'replicas'; readonly master: string; readonly expected: number; readonly replicas: readonly string[]; readonly message: string }
  | { readonly problem: 'replica-not-synced'; readonly node: string; readonly master: string; readonly syncing: boolean; readonly message: string }
  | { readonly problem: 'idle-node'; readonly node: string; readonly message: string };

export interface Warning {
  readonly warning: 'replica-on-master-host';
  /** Distinct hosts of the listed nodes. */
  readonly hosts: number;
  /** Whether a placement exists that avoids it (false when the nodes span one host). */
  readonly avoidable: boolean;
  readonly pairs: readonly { readonly master: string; readonly replica: string }[];
  readonly message: string;
}

export interface MasterReport {
  readonly node: string;
  readonly id: string;
  readonly slots: number;
  readonly ranges: readonly string[];
  readonly replicas: readonly string[];
}

export interface CheckReport {
  readonly ok: boolean;
  readonly nodes: { readonly listed: number; readonly reachable: number };
  readonly slots: { readonly covered: number; readonly uncovered: number; readonly disputed: number; readonly open: number };
  readonly replicasPerMaster: number;
  /** Masters serving slots every node agrees on, by their first slot. */
  readonly masters: readonly MasterReport[];
  readonly problems: readonly Problem[];
  readonly warnings: readonly Warning[];
}

/** Names node ids by the address they were listed with where known, else the address nodes see. */
class Names {
  private readonly byId = new Map<string, string>();

  constructor(listed: readonly NodeAddress[], cluster: ClusterState) {
    for (const s of cluster.states) this.byId.set(s.id, s.node.address);
    const listedByAddress = new Map(listed.map((n) => [n.address, n.address]));
    for (const s of cluster.states) {
      for (const e of s.view) {
        if (this.byId.has(e.id) || e.flags.includes('handshake')) continue;
        const named = listedByAddress.get(e.address) ?? (e.hostname ? listedByAddress.get(`${e.hostname}:${e.port}`) : undefined);
        this.byId.set(e.id, named ?? (e.port === 0 ? e.id : e.address));
      }
    }
    this.listed = new Set(listed.map((n) => n.address));
  }

  readonly listed: Set<string>;

  of(id: string): string {
    return this.byId.get(id) ?? id;
  }
}

/** What the node itself says about its role (when it answered), else what the first node that answered says. */
function selfOrFirst(cluster: ClusterState, id: string): ClusterNodeEntry | undefined {
  const own = cluster.states.find((s) => s.id === id);
  if (own) return own.myself;
  for (const s of cluster.states) {
    const entry = s.view.find((e) => e.id === id);
    if (entry) return entry;
  }
  return undefined;
}

export function checkCluster(listed: readonly NodeAddress[], cluster: ClusterState, expect: CheckExpectations): CheckReport {
  const names = new Names(listed, cluster);
  const problems: Problem[] = [];
  const { states } = cluster;

  for (const u of cluster.unreachable) problems.push({ problem: 'unreachable', node: u.node.address, error: u.error, message: `${u.node.address} did not answer: ${u.error}` });

  // Membership: every node that answered knows every other one; nobody knows nodes that were not listed.
  for (const s of states) {
    const known = new Set(s.view.map((e) => e.id));
    const unknown = states.filter((t) => !known.has(t.id)).map((t) => t.node.address);
    if (unknown.length > 0) problems.push({ problem: 'unknown-nodes', node: s.node.address, unknown, message: `${s.node.address} does not know ${unknown.join(', ')}` });
  }
  const unlisted = new Map<string, string[]>();
  for (const s of states) {
    for (const e of s.view) {
      if (e.flags.includes('handshake') || names.listed.has(names.of(e.id))) continue;
      unlisted.set(e.id, [...(unlisted.get(e.id) ?? []), s.node.address]);
    }
  }
  for (const [id, seenBy] of unlisted) {
    problems.push({ problem: 'unlisted-node', node: names.of(id), id, seenBy, message: `${names.of(id)} (${id}) is a member but not listed; known to ${seenBy.join(', ')}` });
  }

  // Failure flags, as every observer sees them.
  const failed = new Map<string, { fail: string[]; pfail: string[] }>();
  for (const s of states) {
    for (const e of s.view) {
      const verdict = isFailing(e);
      if (!verdict) continue;
      const entry = failed.get(e.id) ?? { fail: [], pfail: [] };
      entry[verdict].push(s.node.address);
      failed.set(e.id, entry);
    }
  }
  for (const [id, { fail, pfail }] of failed) {
    const by = [...(fail.length ? [`fail by ${fail.join(', ')}`] : []), ...(pfail.length ? [`pfail by ${pfail.join(', ')}`] : [])].join('; ');
    problems.push({ problem: 'failed-node', node: names.of(id), id, fail, pfail, message: `${names.of(id)} is flagged ${by}` });
  }

  // Slots: one owner that every node names.
  const views = states.map(slotOwners);
  const agreed = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  const uncovered: number[] = [];
  const disputes = new Map<string, { slots: number[]; owners: Record<string, string | null> }>();
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const owners = views.map((v) => v[slot]);
    if (owners.length === 0) continue;
    if (owners.every((o) => o === owners[0])) {
      if (owners[0] === undefined) uncovered.push(slot);
      else agreed[slot] = owners[0];
      continue;
    }
    const key = owners.map((o) => o ?? '-').join(' ');
    const dispute = disputes.get(key) ?? { slots: [], owners: Object.fromEntries(states.map((s, i) => [s.node.address, owners[i] ? names.of(owners[i]) : null])) };
    dispute.slots.push(slot);
    disputes.set(key, dispute);
  }
  if (uncovered.length > 0) {
    const ranges = rangesOf(uncovered).map(formatRange);
    problems.push({ problem: 'uncovered-slots', slots: ranges, count: uncovered.length, message: `${uncovered.length} slots are served by no master: ${ranges.join(', ')}` });
  }
  let disputed = 0;
  for (const { slots, owners } of disputes.values()) {
    disputed += slots.length;
    const ranges = rangesOf(slots).map(formatRange);
    const says = Object.entries(owners)
      .map(([observer, owner]) => `${observer} says ${owner ?? 'none'}`)
      .join(', ');
    problems.push({ problem: 'slots-disagree', slots: ranges, count: slots.length, owners, message: `nodes disagree on the master of slots ${ranges.join(', ')}: ${says}` });
  }

  let open = 0;
  for (const s of states) {
    for (const o of s.myself.openSlots) {
      open++;
      const peer = names.of(o.peer);
      const message = o.state === 'migrating' ? `slot ${o.slot} is migrating from ${s.node.address} to ${peer}` : `slot ${o.slot} is importing into ${s.node.address} from ${peer}`;
      problems.push({ problem: 'open-slot', node: s.node.address, slot: o.slot, state: o.state, peer, message });
    }
  }

  const down = states.filter((s) => s.info.state !== 'ok').map((s) => s.node.address);
  if (down.length > 0) problems.push({ problem: 'cluster-state-fail', nodes: down, message: `cluster_state is fail on ${down.join(', ')}` });

  // Masters serving agreed slots and their replicas, as each replica says (or, when it did not answer, as the first node does).
  const slotsOf = new Map<string, number[]>();
  agreed.forEach((owner, slot) => owner && slotsOf.set(owner, [...(slotsOf.get(owner) ?? []), slot]));
  const memberIds = new Set(states.flatMap((s) => s.view.filter((e) => !e.flags.includes('handshake')).map((e) => e.id)));
  const replicasOf = new Map<string, string[]>();
  for (const id of memberIds) {
    const entry = selfOrFirst(cluster, id);
    if (entry?.role === 'replica' && entry.masterId && !isFailing(entry)) replicasOf.set(entry.masterId, [...(replicasOf.get(entry.masterId) ?? []), id]);
  }
  const masters: MasterReport[] = [...slotsOf.entries()]
    .sort(([, a], [, b]) => a[0] - b[0])
    .map(([id, slots]) => ({
      node: names.of(id),
      id,
      slots: slots.length,
      ranges: rangesOf(slots).map(formatRange),
      replicas: (replicasOf.get(id) ?? []).map((r) => names.of(r)).sort(),
    }));
  for (const m of masters) {
    if (m.replicas.length === expect.replicasPerMaster) continue;
    problems.push({
      problem: 'replicas',
      master: m.node,
      expected: expect.replicasPerMaster,
      replicas: m.replicas,
      message: `${m.node} has ${m.replicas.length} replica${m.replicas.length === 1 ? '' : 's'}${m.replicas.length ? ` (${m.replicas.join(', ')})` : ''}, expected ${expect.replicasPerMaster}`,
    });
  }
  // A replica that never finished its first sync holds nothing and will never fail over (its data counts as too old).
  for (const s of states) {
    if (s.myself.role !== 'replica' || !s.myself.masterId || s.link?.up !== false) continue;
    const master = names.of(s.myself.masterId);
    const why = s.link.syncing ? 'its first sync is still running' : 'its replication link is down';
    problems.push({
      problem: 'replica-not-synced',
      node: s.node.address,
      master,
      syncing: s.link.syncing,
      message: `${s.node.address} replicates ${master} but ${why} (master_link_status:down)`,
    });
  }
  for (const s of states) {
    const serving = slotsOf.has(s.id) || s.myself.slots.length > 0;
    if (!serving && !(s.myself.role === 'replica' && s.myself.masterId))
      problems.push({ problem: 'idle-node', node: s.node.address, message: `${s.node.address} serves no slots and replicates no master` });
  }

  return {
    ok: problems.length === 0,
    nodes: { listed: listed.length, reachable: states.length },
    slots: { covered: agreed.filter((o) => o !== undefined).length, uncovered: uncovered.length, disputed, open },
    replicasPerMaster: expect.replicasPerMaster,
    masters,
    problems,
    warnings: sameHostWarnings(listed, replicasOf, masters, cluster, names),
  };
}

function hostOf(id: string, cluster: ClusterState): string | undefined {
  return cluster.states.find((s) => s.id === id)?.node.host ?? selfOrFirst(cluster, id)?.host;
}

function sameHostWarnings(
  listed: readonly NodeAddress[],
  replicasOf: ReadonlyMap<string, readonly string[]>,
  masters: readonly MasterReport[],
  cluster: ClusterState,
  names: Names,
): Warning[] {
  const pairs: { master: string; replica: string }[] = [];
  let replicas = 0;
  for (const m of masters) {
    for (const r of replicasOf.get(m.id) ?? []) {
      replicas++;
      if (hostOf(m.id, cluster) === hostOf(r, cluster)) pairs.push({ master: m.node, replica: names.of(r) });
    }
  }
  if (pairs.length === 0) return [];
  const hosts = new Set(listed.map((n) => n.host)).size;
  const why = hosts === 1 ? '; every node is on one host, so no placement avoids it' : '';
  return [
    {
      warning: 'replica-on-master-host',
      hosts,
      avoidable: hosts > 1,
      pairs,
      message: `${pairs.length} of ${replicas} replicas share a host with their master (losing that host loses the shard)${why}`,
    },
  ];
}

/** The slots a report's `slots-disagree` problems name, in order. */
export function disputedSlots(report: CheckReport): number[] {
  return report.problems.flatMap((p) => (p.problem === 'slots-disagree' ? slotsOf(p.slots.map(parseRange)) : []));
}
