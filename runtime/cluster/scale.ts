/**
 * `cluster scale`: brings a cluster to the desired membership a NodeSet gives (address mode: the
 * listed nodes; Kubernetes mode: the StatefulSet's pods), wherever those addresses come from.
 *
 * 1. Joining nodes are MEET and the tool waits until every node knows every other one.
 * 2. Replicas are attached first (REPLICATE: joining replicas, and listed replicas of leaving masters),
 *    so new masters have their replicas before data arrives and no leaving master keeps one.
 * 3. Slots are rebalanced: the masters that stay and the new ones weigh 1, leaving masters 0. A leaving
 *    master is told `cluster-allow-replica-migration no` first, so it stays a master once it has lost its
 *    last slot (with the default `yes` Redis 7 turns it into a replica of the node that took it).
 * 4. Each leaving node is reset (CLUSTER RESET HARD: it forgets every node, so it never gossips itself
 *    back, and takes a new id, so it can join again later without meeting the 60 s ban on its old one) and then forgotten by every remaining node (CLUSTER FORGET, one after the other within the
 *    60 s in which a forgotten id is not re-learnt from gossip).
 * 5. The tool waits until `check` of the desired nodes passes.
 *
 * Every step does only what is missing, so a rerun after a crash converges (half-moved slots are
 * finished first; a node forgotten by some nodes is still known to others and forgotten again).
 */
import { errorMessage, Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport } from './check';
import { ipOf } from './create';
import { MigrateOptions } from './migrate-options';
import { NodeClient, NodeClients } from './node-client';
import { NodeSet } from './node-set';
import { readAll, readCluster } from './node-state';
import { planRebalance } from './rebalance-plan';
import { moveSlots, MoveSummary, waitForSlotAgreement } from './rebalance';
import { planScale } from './scale-plan';
import { waitUntil } from './wait';

export interface ScaleOptions {
  readonly replicasPerMaster: number;
  readonly timeoutMs: number;
  readonly migrate: MigrateOptions;
}

export type ScaleAction =
  | { readonly action: 'meet'; readonly node: string; readonly via: string }
  | { readonly action: 'replicate'; readonly node: string; readonly master: string }
  | { readonly action: 'keep-master'; readonly node: string }
  | { readonly action: 'reset'; readonly node: string }
  | { readonly action: 'forget'; readonly node: string; readonly id: string; readonly on: readonly string[] };

export interface ScaleResult {
  readonly changed: boolean;
  readonly joined: readonly string[];
  readonly removed: readonly string[];
  readonly actions: readonly ScaleAction[];
  readonly rebalance: { readonly finished: readonly MoveSummary[]; readonly moves: readonly MoveSummary[]; readonly keys: number };
  /** `cluster check` of the desired nodes afterwards. */
  readonly report: CheckReport;
}

/** Connects to nodes (and lists those that do not answer). */
export type Connect = (nodes: readonly NodeAddress[]) => Promise<NodeClients>;

const UNKNOWN_NODE = /Unknown node/i;

export async function scaleCluster(set: NodeSet, seeds: readonly NodeAddress[], connect: Connect, options: ScaleOptions, log: Logger): Promise<ScaleResult> {
  const desired = await set.members();
  const desiredAddresses = new Set(desired.map((n) => n.address));
  const extraSeeds = seeds.filter((s) => !desiredAddresses.has(s.address));
  const listedConnection = await connect(desired);
  const opened: NodeClients[] = [listedConnection];
  try {
    if (listedConnection.unreachable.length > 0) {
      throw new Error(`cluster scale needs every listed node; not reachable: ${listedConnection.unreachable.map((u) => `${u.node.address} (${u.error})`).join('; ')}`);
    }
    const listed = listedConnection.clients;
    const seedConnection = await connect(extraSeeds);
    opened.push(seedConnection);
    const seedStates = (await readCluster(seedConnection.clients)).states;
    let states = await readAll(listed);
    const plan = planScale(states, seedStates, options.replicasPerMaster);
    log.info('scale plan', {
      set: set.description,
      joining: plan.joining.map((s) => s.node.address),
      leaving: plan.leaving.map((e) => e.address),
      masters: plan.masters.map((s) => s.node.address),
    });

    const actions: ScaleAction[] = [];
    const act = (action: ScaleAction) => {
      actions.push(action);
      const { action: name, ...fields } = action;
      log.info(name, fields);
    };
    // The leaving nodes, by the address members know them at.
    const leavingConnection = await connect(plan.leaving.map((e) => ({ host: e.host, port: e.port, address: e.address })));
    opened.push(leavingConnection);
    const leavingClients = leavingConnection.clients;
    const everyone = () => [...listed, ...leavingClients];
    const clientOf = (address: string) => listed.find((c) => c.address === address);

    // 1. MEET the joining nodes through a member that stays (or a seed), and wait for the gossip.
    const via = states.find((s) => !plan.joining.includes(s)) ?? undefined;
    const viaClient = via ? clientOf(via.node.address) : (seedConnection.clients[0] ?? leavingClients[0]);
    if (!viaClient) throw new Error('no member of the cluster answers to introduce the joining nodes to');
    for (const s of plan.joining) {
      await viaClient.ok('CLUSTER MEET', 'CLUSTER', 'MEET', await ipOf(s.node.host), s.node.port, s.myself.busPort);
      act({ action: 'meet', node: s.node.address, via: viaClient.address });
    }
    const ids = states.map((s) => s.id);
    await waitUntil(
      'every node to know every listed node and report cluster_state:ok',
      options.timeoutMs,
      async () => {
        const now = (await readCluster(everyone())).states;
        const missing = now.flatMap((s) => {
          const known = new Set(s.view.filter((e) => !e.flags.some((f) => f === 'handshake' || f === 'noaddr')).map((e) => e.id));
          const unknown = ids.filter((id) => !known.has(id));
          if (unknown.length > 0) return [`${s.node.address} does not know ${unknown.length} of the listed nodes`];
          // A node that just joined answers CLUSTERDOWN (and refuses MIGRATE's RESTORE) until it has the slot map.
          return s.info.state === 'ok' ? [] : [`${s.node.address} reports cluster_state:fail`];
        });
        return { done: missing.length === 0, detail: missing.join('; ') };
      },
      log,
    );
    states = await readAll(listed);

    // 2. Replicas first.
    const masterOf = new Map(plan.replicate.map((r) => [r.node.id, r.master]));
    for (const r of plan.replicate) {
      const client = clientOf(r.node.node.address) as NodeClient;
      await client.ok('CLUSTER REPLICATE', 'CLUSTER', 'REPLICATE', r.master.id);
      act({ action: 'replicate', node: r.node.node.address, master: r.master.node.address });
    }
    if (masterOf.size > 0) {
      await waitUntil(
        'the replicas to follow their new masters',
        options.timeoutMs,
        async () => {
          const now = await readAll(listed.filter((c) => plan.replicate.some((r) => r.node.node.address === c.address)));
          const wrong = now.filter((s) => s.myself.role !== 'replica' || s.myself.masterId !== masterOf.get(s.id)?.id);
          return { done: wrong.length === 0, detail: wrong.map((s) => `${s.node.address} is not yet a replica of ${masterOf.get(s.id)?.node.address}`).join('; ') };
        },
        log,
      );
    }

    // 3. Leaving masters keep their role while they drain; then every slot to its share.
    const leavingIds = new Set(plan.leaving.map((e) => e.id));
    const leavingStates = (await readCluster(leavingClients)).states;
    for (const s of leavingStates.filter((l) => l.myself.role === 'master')) {
      const client = leavingClients.find((c) => c.address === s.node.address) as NodeClient;
      await client.ok('CONFIG SET cluster-allow-replica-migration', 'CONFIG', 'SET', 'cluster-allow-replica-migration', 'no');
      act({ action: 'keep-master', node: s.node.address });
    }
    const finalMasters = new Set(plan.masters.map((m) => m.id));
    const rebalance = await moveSlots(
      everyone(),
      (cluster) =>
        planRebalance(
          cluster.states
            .filter((s) => finalMasters.has(s.id) || (leavingIds.has(s.id) && s.myself.role === 'master'))
            .sort((a, b) => Number(leavingIds.has(a.id)) - Number(leavingIds.has(b.id)))
            .map((s) => ({ id: s.id, slots: s.myself.slots, weight: finalMasters.has(s.id) ? 1 : 0 })),
        ),
      options,
      log,
    );
    await waitForSlotAgreement(desired, everyone(), options.replicasPerMaster, options.timeoutMs, log);

    // 4. Reset each leaving node (replicas first, while their masters still run), then forget it everywhere.
    // A replica's keys are copies of its master's (RESET flushes them); a master must hold none.
    const roles = new Map((await readCluster(leavingClients)).states.map((s) => [s.node.address, s.myself.role]));
    const resetOrder = [...leavingClients].sort((a, b) => Number(roles.get(a.address) === 'master') - Number(roles.get(b.address) === 'master'));
    for (const client of resetOrder) {
      const left = roles.get(client.address) === 'master' ? await client.keyCount() : 0;
      if (left > 0) throw new Error(`${client.address} still holds ${left} keys after the drain; not removing it`);
      await client.ok('CLUSTER RESET', 'CLUSTER', 'RESET', 'HARD');
      await client.ok('CONFIG SET cluster-allow-replica-migration', 'CONFIG', 'SET', 'cluster-allow-replica-migration', 'yes');
      act({ action: 'reset', node: client.address });
    }
    for (const entry of plan.leaving) {
      const on: string[] = [];
      for (const client of listed) {
        try {
          await client.ok('CLUSTER FORGET', 'CLUSTER', 'FORGET', entry.id);
          on.push(client.address);
        } catch (error) {
          if (!UNKNOWN_NODE.test(errorMessage(error))) throw error;
        }
      }
      if (on.length > 0) act({ action: 'forget', node: entry.address, id: entry.id, on });
    }

    // 5. The verdict on the desired nodes.
    let report: CheckReport | undefined;
    await waitUntil(
      'check of the listed nodes to pass',
      options.timeoutMs,
      async () => {
        report = checkCluster(desired, await readCluster(listed), { replicasPerMaster: options.replicasPerMaster });
        return { done: report.ok, detail: report.problems.map((p) => p.message).join('; ') };
      },
      log,
    );
    const changed = actions.length > 0 || rebalance.moves.length > 0 || rebalance.finished.length > 0;
    if (!changed) log.info('cluster has the listed membership already: nothing to do', { nodes: desired.length });
    return { changed, joined: plan.joining.map((s) => s.node.address), removed: plan.leaving.map((e) => e.address), actions, rebalance, report: report as CheckReport };
  } finally {
    await Promise.all(opened.map((o) => o.close()));
  }
}
