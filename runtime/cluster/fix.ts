/**
 * `cluster fix`: an open slot whose importing side holds none of its keys is rolled back (SETSLOT
 * STABLE where it is open); one whose importing side holds keys already is finished (the rest of the
 * keys moved, SETSLOT NODE everywhere, as migrate.ts does); slots no node serves go to the master
 * serving the fewest (ADDSLOTSRANGE); slots the nodes name different masters for go to their owner
 * (slot-owners.ts); a master short of replicas gets a spare one (a node serving no
 * slots and replicating nobody, or a master's replica beyond the count asked for), on another host
 * where one is. Anything else `check` reports is left as it is and listed as not fixed.
 */
import { Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport, disputedSlots, Problem } from './check';
import { placeReplicas } from './create-plan';
import { migrateNodes, migrateSlots, openMoves } from './migrate';
import { MigrateOptions } from './migrate-options';
import { NodeClient, UnreachableNode } from './node-client';
import { NodeState, readCluster } from './node-state';
import { OwnerSet, settleSlotOwners } from './slot-owners';
import { formatRange, parseRange, slotsOf } from './slots';
import { waitUntil } from './wait';

export interface FixOptions {
  readonly replicasPerMaster: number;
  /** How long to wait for the nodes to agree on what was changed. */
  readonly timeoutMs: number;
  readonly migrate: MigrateOptions;
}

export type FixAction =
  | { readonly action: 'setslot-stable'; readonly node: string; readonly slot: number }
  | { readonly action: 'finish-migration'; readonly slot: number; readonly from: string; readonly to: string; readonly keys: number }
  | { readonly action: 'add-slots'; readonly node: string; readonly slots: readonly string[] }
  | ({ readonly action: 'set-owner' } & OwnerSet)
  | { readonly action: 'replicate'; readonly node: string; readonly master: string };

export interface FixResult {
  readonly changed: boolean;
  readonly actions: readonly FixAction[];
  /** Problems fix does not handle (yet), or could not safely: each with why. */
  readonly notFixed: readonly { readonly problem: Problem['problem']; readonly message: string; readonly reason: string }[];
  /** `cluster check` after the fix. */
  readonly report: CheckReport;
}

const FIXED: ReadonlySet<Problem['problem']> = new Set(['open-slot', 'uncovered-slots', 'slots-disagree', 'replicas', 'idle-node']);
/** A consequence of the others (a node without full slot coverage stops serving): it goes when they go. */
const CONSEQUENCE: Problem['problem'] = 'cluster-state-fail';

export async function fixCluster(
  listed: readonly NodeAddress[],
  clients: readonly NodeClient[],
  unreachable: readonly UnreachableNode[],
  options: FixOptions,
  log: Logger,
): Promise<FixResult> {
  const expect = { replicasPerMaster: options.replicasPerMaster };
  const cluster = await readCluster(clients, unreachable);
  const before = checkCluster(listed, cluster, expect);
  const finished = new Set<number>();
  const client = (address: string) => clients.find((c) => c.address === address);
  const actions: FixAction[] = [];
  const notFixed: FixResult['notFixed'][number][] = [];
  const act = (action: FixAction) => {
    actions.push(action);
    const { action: name, ...fields } = action;
    log.info(name, fields);
  };

  for (const p of before.problems) {
    if (p.problem !== 'open-slot') continue;
    const importing = client(p.state === 'importing' ? p.node : p.peer);
    const node = client(p.node);
    if (!importing || !node) {
      notFixed.push({ problem: p.problem, message: p.message, reason: `${importing ? p.node : p.peer} cannot be asked` });
      continue;
    }
    if (finished.has(p.slot)) continue;
    const keys = await importing.call('CLUSTER COUNTKEYSINSLOT', 'CLUSTER', 'COUNTKEYSINSLOT', p.slot);
    if (keys !== 0) {
      // Keys were moved already: rolling back would strand them; move the rest and close the slot.
      const move = openMoves(cluster.states).find((m) => m.slot === p.slot);
      const ends = move ? [move.from, move.to].map((id) => cluster.states.find((s) => s.id === id)) : [];
      if (!move || ends.some((e) => !e)) {
        notFixed.push({ problem: p.problem, message: p.message, reason: `${importing.address} holds ${String(keys)} keys of slot ${p.slot} but the other end cannot be asked` });
        continue;
      }
      const moved = await migrateSlots([move], migrateNodes(clients, cluster.states), options.migrate, log);
      finished.add(p.slot);
      act({ action: 'finish-migration', slot: p.slot, from: (ends[0] as NodeState).node.address, to: (ends[1] as NodeState).node.address, keys: moved.keys });
      continue;
    }
    await node.ok('CLUSTER SETSLOT STABLE', 'CLUSTER', 'SETSLOT', p.slot, 'STABLE');
    act({ action: 'setslot-stable', node: p.node, slot: p.slot });
  }

  const load = new Map(before.masters.map((m) => [m.node, m.slots]));
  for (const p of before.problems) {
    if (p.problem !== 'uncovered-slots') continue;
    for (const text of p.slots) {
      const range = parseRange(text);
      const [target] = [...load.entries()].filter(([address]) => client(address)).sort((a, b) => a[1] - b[1]);
      if (!target) {
        notFixed.push({ problem: p.problem, message: p.message, reason: 'no master serving slots can be asked' });
        break;
      }
      await (client(target[0]) as NodeClient).ok('CLUSTER ADDSLOTSRANGE', 'CLUSTER', 'ADDSLOTSRANGE', range.start, range.end);
      act({ action: 'add-slots', node: target[0], slots: [formatRange(range)] });
      load.set(target[0], target[1] + range.end - range.start + 1);
    }
  }
  const disputes = before.problems.filter((p) => p.problem === 'slots-disagree');
  if (disputes.length > 0) {
    const settled = await settleSlotOwners(clients, cluster.states, disputedSlots(before), log);
    for (const set of settled.set) act({ action: 'set-owner', ...set });
    for (const p of disputes) {
      const slots = new Set(slotsOf(p.slots.map(parseRange)));
      const reasons = settled.unsettled.filter((u) => u.slots.some((s) => slots.has(s))).map((u) => u.reason);
      if (reasons.length > 0) notFixed.push({ problem: p.problem, message: p.message, reason: reasons.join('; ') });
    }
  }
  await attachSpareReplicas(before, cluster.states, client, options.replicasPerMaster, act, notFixed);
  for (const p of before.problems)
    if (!FIXED.has(p.problem) && p.problem !== CONSEQUENCE)
      notFixed.push({
        problem: p.problem,
        message: p.message,
        reason: 'not one of the cases fix handles (open slots, uncovered slots, slots the nodes disagree on, missing replicas)',
      });
  if (actions.length === 0) log.info('nothing fix can change', { problems: before.problems.length });

  let report = before;
  const unfixed = new Set(notFixed.map((n) => n.message));
  await waitUntil(
    'every node to see the fixed slots',
    options.timeoutMs,
    async () => {
      report = checkCluster(listed, await readCluster(clients, unreachable), expect);
      // Until the gossip carried the change, nodes disagree on those slots: wait for all but what was left unfixed
      // (and the cluster state that it keeps failing).
      const left = report.problems.filter((p) => !unfixed.has(p.message) && !(p.problem === CONSEQUENCE && unfixed.size > 0));
      return { done: actions.length === 0 || left.length === 0, detail: left.map((p) => p.message).join('; ') };
    },
    log,
  );
  return { changed: actions.length > 0, actions, notFixed, report };
}

/** Masters short of replicas get spare nodes: empty masters holding no keys, then replicas beyond the count of theirs. */
async function attachSpareReplicas(
  before: CheckReport,
  states: readonly NodeState[],
  client: (address: string) => NodeClient | undefined,
  replicasPerMaster: number,
  act: (action: FixAction) => void,
  notFixed: FixResult['notFixed'][number][],
): Promise<void> {
  const short = before.masters.filter((m) => m.replicas.length < replicasPerMaster);
  if (short.length === 0) return;
  const stateOf = (address: string) => states.find((s) => s.node.address === address);
  const idle = before.problems.flatMap((p) => (p.problem === 'idle-node' ? [stateOf(p.node)] : [])).filter((s): s is NodeState => s !== undefined && s.keys === 0);
  const extra = before.masters.flatMap((m) => m.replicas.slice(replicasPerMaster).flatMap((r) => stateOf(r) ?? []));
  const masters = short.flatMap((m) => stateOf(m.node) ?? []);
  const load = new Map(short.map((m) => [m.id, m.replicas.length]));
  const spares = [...idle, ...extra].slice(
    0,
    short.reduce((n, m) => n + replicasPerMaster - m.replicas.length, 0),
  );
  for (const { replica, master } of placeReplicas(masters, load, spares, replicasPerMaster)) {
    const c = client(replica.node.address);
    if (!c) continue;
    await c.ok('CLUSTER REPLICATE', 'CLUSTER', 'REPLICATE', master.id);
    act({ action: 'replicate', node: replica.node.address, master: master.node.address });
  }
  for (const m of short) {
    const placed = load.get(m.id) ?? 0;
    if (placed < replicasPerMaster) {
      const message = before.problems.find((p) => p.problem === 'replicas' && p.master === m.node)?.message ?? `${m.node} lacks replicas`;
      notFixed.push({ problem: 'replicas', message, reason: `no spare node to replicate ${m.node} (${placed} of ${replicasPerMaster})` });
    }
  }
}
