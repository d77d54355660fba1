/**
 * `cluster rebalance`: finish any slot a crashed run left half-moved, plan the moves that give every
 * master its share (rebalance-plan.ts), move them (migrate.ts), and wait until every node names the
 * same master for every slot. A rerun on a balanced cluster moves nothing.
 */
import { Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport, disputedSlots } from './check';
import { migrateNodes, migrateSlots, openMoves, SlotMove } from './migrate';
import { MigrateOptions } from './migrate-options';
import { NodeClient } from './node-client';
import { ClusterState, readCluster } from './node-state';
import { planRebalance, RebalanceMaster } from './rebalance-plan';
import { settleSlotOwners } from './slot-owners';
import { formatRange, rangesOf } from './slots';
import { waitUntil } from './wait';

export interface RebalanceOptions {
  readonly replicasPerMaster: number;
  readonly timeoutMs: number;
  readonly migrate: MigrateOptions;
  /** Weights by node address; a master not named weighs 1. */
  readonly weights?: ReadonlyMap<string, number>;
  /** Masters serving no slots get their share too (else they are left out). @default true */
  readonly useEmptyMasters?: boolean;
}

/** Moves of one (from, to) pair, as the result lists them. */
export interface MoveSummary {
  readonly from: string;
  readonly to: string;
  readonly slots: readonly string[];
  readonly count: number;
}

export interface RebalanceResult {
  readonly changed: boolean;
  /** Slots a crashed run had left open, finished first. */
  readonly finished: readonly MoveSummary[];
  readonly moves: readonly MoveSummary[];
  readonly keys: number;
  readonly report: CheckReport;
}

/** Moves grouped by pair, named by address. */
export function summarize(moves: readonly SlotMove[], cluster: ClusterState): MoveSummary[] {
  const name = (id: string) => cluster.states.find((s) => s.id === id)?.node.address ?? id;
  const pairs = new Map<string, { from: string; to: string; slots: number[] }>();
  for (const m of moves) {
    const key = `${m.from} ${m.to}`;
    const pair = pairs.get(key) ?? { from: name(m.from), to: name(m.to), slots: [] };
    pair.slots.push(m.slot);
    pairs.set(key, pair);
  }
  return [...pairs.values()].map((p) => ({ from: p.from, to: p.to, slots: rangesOf(p.slots).map(formatRange), count: p.slots.length }));
}

/** The masters as each says of itself (a node's own line is the freshest word on its slots), in the order listed. */
export function mastersOf(cluster: ClusterState, weights: ReadonlyMap<string, number> = new Map(), useEmptyMasters = true): RebalanceMaster[] {
  return cluster.states
    .filter((s) => s.myself.role === 'master' && (useEmptyMasters || s.myself.slots.length > 0 || (weights.get(s.node.address) ?? 0) > 0))
    .map((s) => ({ id: s.id, slots: s.myself.slots, weight: weights.get(s.node.address) ?? 1 }));
}

/** Finishes open slots, then runs `plan` on the state after and moves what it says. */
export async function moveSlots(
  clients: readonly NodeClient[],
  plan: (cluster: ClusterState) => SlotMove[],
  options: { readonly migrate: MigrateOptions },
  log: Logger,
): Promise<{ finished: MoveSummary[]; moves: MoveSummary[]; keys: number }> {
  let cluster = await readCluster(clients);
  const open = openMoves(cluster.states);
  let keys = 0;
  if (open.length > 0) {
    log.info('finishing slots a previous run left open', { slots: rangesOf(open.map((m) => m.slot)).map(formatRange) });
    keys += (await migrateSlots(open, migrateNodes(clients, cluster.states), options.migrate, log)).keys;
    cluster = await readCluster(clients);
  }
  const moves = plan(cluster);
  if (moves.length > 0) {
    log.info('moving slots', { count: moves.length, pairs: summarize(moves, cluster).map((p) => `${p.from} -> ${p.to}: ${p.count}`) });
    keys += (await migrateSlots(moves, migrateNodes(clients, cluster.states), options.migrate, log)).keys;
  }
  return { finished: summarize(open, cluster), moves: summarize(moves, cluster), keys };
}

/** A dispute this old is taken for one gossip will not end: after a move every master was told directly, and replicas follow by heartbeat. */
const SETTLE_AFTER_MS = 5_000;

/**
 * Waits until every node names the same master for every slot and none is open; returns `check`'s report.
 * Slots still disputed after SETTLE_AFTER_MS are given to their owner (slot-owners.ts), at most once per period.
 */
export async function waitForSlotAgreement(
  listed: readonly NodeAddress[],
  clients: readonly NodeClient[],
  replicasPerMaster: number,
  timeoutMs: number,
  log: Logger,
): Promise<CheckReport> {
  let report: CheckReport | undefined;
  let disputedSince: number | undefined;
  await waitUntil(
    'every node to name the same master for every slot',
    timeoutMs,
    async () => {
      const cluster = await readCluster(clients);
      report = checkCluster(listed, cluster, { replicasPerMaster });
      const left = report.problems.filter((p) => ['slots-disagree', 'open-slot', 'uncovered-slots', 'cluster-state-fail'].includes(p.problem));
      const disputed = disputedSlots(report);
      disputedSince = disputed.length > 0 ? (disputedSince ?? Date.now()) : undefined;
      if (disputedSince !== undefined && Date.now() - disputedSince >= SETTLE_AFTER_MS) {
        log.warn('the nodes still disagree on slot masters; settling them', { seconds: Math.round((Date.now() - disputedSince) / 1000) });
        const { unsettled } = await settleSlotOwners(clients, cluster.states, disputed, log);
        for (const u of unsettled) log.warn('left slots the nodes disagree on', { slots: rangesOf(u.slots).map(formatRange), reason: u.reason });
        disputedSince = Date.now();
      }
      return { done: left.length === 0, detail: left.map((p) => p.message).join('; ') };
    },
    log,
  );
  return report as CheckReport;
}

export async function rebalanceCluster(listed: readonly NodeAddress[], clients: readonly NodeClient[], options: RebalanceOptions, log: Logger): Promise<RebalanceResult> {
  const { finished, moves, keys } = await moveSlots(clients, (cluster) => planRebalance(mastersOf(cluster, options.weights, options.useEmptyMasters ?? true)), options, log);
  if (finished.length === 0 && moves.length === 0) log.info('cluster balanced already: nothing to move');
  const report = await waitForSlotAgreement(listed, clients, options.replicasPerMaster, options.timeoutMs, log);
  return { changed: finished.length + moves.length > 0, finished, moves, keys, report };
}
