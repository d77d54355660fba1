/**
 * `cluster reconcile`: brings the Redis cluster to the membership the node set gives, where no data moves.
 * - A listed node another listed node does not know, or knows at an address it no longer has (every node
 *   restarted on a new address with its own nodes.conf), is MET at its listed address. Redis matches the
 *   handshake's node id with the one it knows and updates that node's address, so ids, slots and roles stay.
 * - A node flagged fail that is not listed (or whose listed address now answers with another node id) is FORGOTTEN on every node that knows it (at once: FORGET bans a
 *   node id for 60 s only, after which gossip from a node that still knows it brings it back).
 * - A listed node that serves no slots and replicates no serving master (an empty master, a replica of a
 *   forgotten or failed master) becomes a replica of a master that has fewer than `replicasPerMaster`,
 *   on another host than that master where one is free.
 * Each step does only what is missing, so a rerun converges. Slots are not moved here (`fix`, `rebalance`).
 */
import { errorMessage, Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport, Problem } from './check';
import { ipOf } from './create';
import { NodeClient, UnreachableNode } from './node-client';
import { NodeState, readCluster } from './node-state';
import { ClusterNodeEntry, isFailing } from './topology';
import { waitUntil } from './wait';

export interface ReconcileOptions {
  readonly replicasPerMaster: number;
  /** How long to wait for the nodes to agree after the changes. */
  readonly timeoutMs: number;
}

export type ReconcileAction =
  | { readonly action: 'meet'; readonly node: string; readonly via: string }
  | { readonly action: 'forget'; readonly node: string; readonly id: string; readonly on: readonly string[] }
  | { readonly action: 'replicate'; readonly node: string; readonly master: string };

export interface ReconcileResult {
  readonly changed: boolean;
  readonly actions: readonly ReconcileAction[];
  /** Steps a node refused, with its reply. */
  readonly failed: readonly { readonly action: ReconcileAction['action']; readonly node: string; readonly error: string }[];
  /** `cluster check` after it. */
  readonly report: CheckReport;
}

/** What reconcile changes; it waits until these are gone (others, such as uncovered slots, are fix's). */
const RECONCILED: ReadonlySet<Problem['problem']> = new Set(['unknown-nodes', 'unlisted-node', 'failed-node', 'replicas', 'idle-node', 'replica-not-synced']);

/** A MEET already in its handshake is refused with this; the handshake it waits for is the one asked for. */
const HANDSHAKE_IN_PROGRESS = /Invalid node address/;

export async function reconcileCluster(
  listed: readonly NodeAddress[],
  clients: readonly NodeClient[],
  unreachable: readonly UnreachableNode[],
  options: ReconcileOptions,
  log: Logger,
): Promise<ReconcileResult> {
  const expect = { replicasPerMaster: options.replicasPerMaster };
  const actions: ReconcileAction[] = [];
  const failed: ReconcileResult['failed'][number][] = [];
  const act = (action: ReconcileAction) => {
    actions.push(action);
    const { action: name, ...fields } = action;
    log.info(name, fields);
  };
  const clientOf = (s: NodeState) => clients.find((c) => c.address === s.node.address) as NodeClient;
  let { states } = await readCluster(clients, unreachable);

  // Membership: every listed node known to every other one at the address it announces now.
  for (const target of states) {
    for (const s of states) {
      if (s === target) continue;
      const entry = s.view.find((e) => e.id === target.id);
      if (entry && entry.address === target.myself.address && !entry.flags.includes('noaddr')) continue;
      try {
        await clientOf(s).ok('CLUSTER MEET', 'CLUSTER', 'MEET', await ipOf(target.node.host), target.node.port, target.myself.busPort);
        act({ action: 'meet', node: target.node.address, via: s.node.address });
      } catch (error) {
        if (!HANDSHAKE_IN_PROGRESS.test(errorMessage(error))) failed.push({ action: 'meet', node: target.node.address, error: errorMessage(error) });
      }
    }
  }
  if (actions.length > 0) {
    const ids = states.map((s) => s.id);
    await waitUntil(
      'every listed node to know every other one at its address',
      options.timeoutMs,
      async () => {
        states = (await readCluster(clients, unreachable)).states;
        const missing = states.flatMap((s) =>
          states
            .filter((t) => t !== s && !s.view.some((e) => e.id === t.id && e.address === t.myself.address && e.linkState === 'connected'))
            .map((t) => `${s.node.address} does not reach ${t.node.address}`),
        );
        return { done: missing.length === 0 && states.length >= ids.length, detail: missing.join('; ') };
      },
      log,
    );
  }

  // Forget failed nodes nobody listed, on every node at once.
  // A listed address answering with another id (a node that lost its nodes.conf) frees the old id too.
  const listedIds = new Set(states.map((s) => s.id));
  const answered = new Set(states.map((s) => s.myself.address));
  const silent = new Set(listed.map((n) => n.address).filter((a) => !answered.has(a)));
  const gone = new Map<string, string>();
  // A node that met another id at its address is flagged noaddr and never failed (nobody pings it): forget it
  // when every listed node answered, so it is none of them.
  const stale = (e: ClusterNodeEntry) => (isFailing(e) === 'fail' && !silent.has(e.address)) || (e.flags.includes('noaddr') && silent.size === 0);
  for (const s of states)
    for (const e of s.view) if (!listedIds.has(e.id) && !e.flags.includes('handshake') && stale(e)) gone.set(e.id, gone.get(e.id) ?? (e.port === 0 ? e.id : e.address));
  for (const [id, address] of gone) {
    const knowing = states.filter((s) => s.view.some((e) => e.id === id));
    const results = await Promise.all(
      knowing.map((s) =>
        clientOf(s)
          .ok('CLUSTER FORGET', 'CLUSTER', 'FORGET', id)
          .then(
            () => undefined,
            (error: unknown) => ({ node: s.node.address, error: errorMessage(error) }),
          ),
      ),
    );
    for (const r of results) if (r) failed.push({ action: 'forget', node: address, error: `${r.node}: ${r.error}` });
    act({ action: 'forget', node: address, id, on: knowing.map((s) => s.node.address) });
  }

  // Replicas: idle listed nodes go to the masters short of replicas.
  const cluster = await readCluster(clients, unreachable);
  states = cluster.states;
  const report = checkCluster(listed, cluster, expect);
  const serving = new Set(report.masters.map((m) => m.id));
  const idle = states.filter((s) => s.myself.slots.length === 0 && !serving.has(s.id) && !(s.myself.role === 'replica' && s.myself.masterId && serving.has(s.myself.masterId)));
  const hostOf = (id: string) => states.find((s) => s.id === id)?.node.host;
  const short = report.masters.map((m) => ({ master: m, missing: options.replicasPerMaster - m.replicas.length })).filter((m) => m.missing > 0);
  for (const s of idle) {
    const open = short.filter((m) => m.missing > 0);
    const target = open.find((m) => hostOf(m.master.id) !== s.node.host) ?? open[0];
    if (!target) break;
    try {
      await clientOf(s).ok('CLUSTER REPLICATE', 'CLUSTER', 'REPLICATE', target.master.id);
      target.missing--;
      act({ action: 'replicate', node: s.node.address, master: target.master.node });
    } catch (error) {
      failed.push({ action: 'replicate', node: s.node.address, error: errorMessage(error) });
    }
  }
  if (actions.length === 0) log.info('nothing to reconcile', { problems: report.problems.length });

  // Also after no change: a node that just came back is still syncing or flagged; the report says how it ended.
  let after = report;
  await waitUntil(
    'the cluster to settle after reconcile',
    options.timeoutMs,
    async () => {
      after = checkCluster(listed, await readCluster(clients, unreachable), expect);
      // A node's cluster_state turns ok a moment after its links are back: wait for that too, unless a problem
      // that is not reconcile's (uncovered slots: fix's) keeps it failing.
      const others = after.problems.filter((p) => !RECONCILED.has(p.problem) && p.problem !== 'cluster-state-fail');
      const left = after.problems.filter((p) => RECONCILED.has(p.problem) || (p.problem === 'cluster-state-fail' && others.length === 0));
      return { done: failed.length > 0 || left.length === 0, detail: left.map((p) => p.message).join('; ') };
    },
    log,
  ).catch((error: unknown) => log.warn(errorMessage(error)));
  return { changed: actions.length > 0, actions, failed, report: after };
}
