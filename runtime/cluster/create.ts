/**
 * `cluster create`: MEET every node, wait until the gossip agrees, give the masters their even share
 * of the 16384 slots (ADDSLOTSRANGE), attach the replicas (REPLICATE), wait until every node says
 * cluster_state:ok and names the same master for every slot. Each step does only what is missing,
 * so a rerun (after a crash, or on a created cluster) converges; on a created cluster it changes nothing.
 */
import { lookup } from 'dns/promises';
import { isIP } from 'net';
import { Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport } from './check';
import { planCreate } from './create-plan';
import { NodeClient } from './node-client';
import { readAll, readCluster } from './node-state';
import { formatRange } from './slots';
import { waitUntil } from './wait';

export interface CreateOptions {
  readonly replicasPerMaster: number;
  /** How long each wait (gossip, the final agreement) may take. */
  readonly timeoutMs: number;
}

export type CreateAction =
  | { readonly action: 'set-config-epoch'; readonly node: string; readonly epoch: number }
  | { readonly action: 'meet'; readonly node: string; readonly via: string }
  | { readonly action: 'add-slots'; readonly node: string; readonly slots: readonly string[] }
  | { readonly action: 'replicate'; readonly node: string; readonly master: string };

export interface CreateResult {
  /** False when the cluster was created already and nothing was done. */
  readonly changed: boolean;
  readonly actions: readonly CreateAction[];
  /** `cluster check` of the result. */
  readonly report: CheckReport;
}

/** CLUSTER MEET takes an IP address, not a name. */
export async function ipOf(host: string): Promise<string> {
  return isIP(host) ? host : (await lookup(host)).address;
}

export async function createCluster(listed: readonly NodeAddress[], clients: readonly NodeClient[], options: CreateOptions, log: Logger): Promise<CreateResult> {
  const actions: CreateAction[] = [];
  const act = (action: CreateAction) => {
    actions.push(action);
    const { action: name, ...fields } = action;
    log.info(name, fields);
  };
  let states = await readAll(clients);
  const client = (id: string) => clients[states.findIndex((s) => s.id === id)];
  // Every refusal comes before the first change.
  planCreate(states, options.replicasPerMaster);

  // Distinct config epochs on fresh nodes (as redis-cli does), so the masters' slot claims never collide.
  for (const [i, s] of states.entries()) {
    if (s.view.length === 1 && s.myself.configEpoch === 0 && s.info.currentEpoch === 0) {
      await client(s.id).ok('CLUSTER SET-CONFIG-EPOCH', 'CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
      act({ action: 'set-config-epoch', node: s.node.address, epoch: i + 1 });
    }
  }

  const [first] = states;
  const knownToFirst = new Set(first.view.filter((e) => !e.flags.includes('handshake')).map((e) => e.id));
  for (const s of states.slice(1)) {
    if (knownToFirst.has(s.id)) continue;
    await client(first.id).ok('CLUSTER MEET', 'CLUSTER', 'MEET', await ipOf(s.node.host), s.node.port, s.myself.busPort);
    act({ action: 'meet', node: s.node.address, via: first.node.address });
  }
  const ids = states.map((s) => s.id);
  await waitUntil(
    'every node to know every other one',
    options.timeoutMs,
    async () => {
      states = await readAll(clients);
      const missing = states.flatMap((s) => {
        const known = new Set(s.view.filter((e) => !e.flags.some((f) => f === 'handshake' || f === 'noaddr')).map((e) => e.id));
        const unknown = ids.filter((id) => !known.has(id));
        return unknown.length ? [`${s.node.address} does not know ${unknown.map((id) => states.find((t) => t.id === id)?.node.address).join(', ')}`] : [];
      });
      return { done: missing.length === 0, detail: missing.join('; ') };
    },
    log,
  );

  // Planned again on what the gossip settled on: the slots and roles every node now reports.
  const plan = planCreate(states, options.replicasPerMaster);
  for (const m of plan.masters) {
    if (m.add.length === 0) continue;
    await client(m.node.id).ok('CLUSTER ADDSLOTSRANGE', 'CLUSTER', 'ADDSLOTSRANGE', ...m.add.flatMap((r) => [r.start, r.end]));
    act({ action: 'add-slots', node: m.node.node.address, slots: m.add.map(formatRange) });
  }
  for (const r of plan.replicas) {
    if (r.attached) continue;
    await client(r.node.id).ok('CLUSTER REPLICATE', 'CLUSTER', 'REPLICATE', r.master.id);
    act({ action: 'replicate', node: r.node.node.address, master: r.master.node.address });
  }
  if (actions.length === 0) log.info('cluster already created: nothing to do', { nodes: listed.length });

  let report: CheckReport | undefined;
  await waitUntil(
    'every node to report cluster_state:ok and the same masters of all slots',
    options.timeoutMs,
    async () => {
      report = checkCluster(listed, await readCluster(clients), { replicasPerMaster: options.replicasPerMaster });
      const unplaced = plan.replicas.filter((r) => !report?.masters.some((m) => m.id === r.master.id && m.replicas.includes(r.node.node.address)));
      const detail = [...report.problems.map((p) => p.message), ...unplaced.map((r) => `${r.node.node.address} is not yet a replica of ${r.master.node.address}`)];
      return { done: detail.length === 0, detail: detail.join('; ') };
    },
    log,
  );
  return { changed: actions.length > 0, actions, report: report as CheckReport };
}
