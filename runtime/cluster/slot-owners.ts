/**
 * Settling slots the nodes name different masters for when gossip never will. Only a master's own claim
 * moves the others' views, so a slot whose master no longer lists it in its own line, while the master it
 * names does not list it either, stays disputed for good: every node names A, A names B, B names A. Seen
 * once after a scale-down closed a slot (how the owner came to name the source again was not found), and
 * made by hand with one `CLUSTER SETSLOT <slot> NODE <other>` on its master.
 *
 * The owner of a disputed slot, in this order: the one master that lists it in its own line (it serves it;
 * the other views are stale); else the one master holding keys of it; else the master most masters name.
 * Then `SETSLOT <slot> NODE <owner>` on the owner and on every master naming another, and `CLUSTER BUMPEPOCH`
 * on the owner so its claim outranks any stale one and the replicas follow it. Slots open anywhere, slots a
 * node names no master for, and ties are left as they are, with the reason.
 */
import { Logger } from '../log';
import { checkReplies, perSlot } from './migrate';
import { NodeClient } from './node-client';
import { NodeState, slotOwners } from './node-state';
import { formatRange, rangesOf, slotsOf } from './slots';

export type OwnerReason = 'serves it' | 'holds its keys' | 'named by most masters';

export interface OwnerSet {
  /** The master the slots were given to. */
  readonly node: string;
  readonly slots: readonly string[];
  readonly reason: OwnerReason;
}

export interface Unsettled {
  readonly slots: readonly number[];
  readonly reason: string;
}

export interface SettleResult {
  readonly set: readonly OwnerSet[];
  readonly unsettled: readonly Unsettled[];
}

const BUMPED = /^(BUMPED|STILL) \d+$/;

/** Decides the owners of `disputed` (the slots `check` says the nodes disagree on) and tells the masters; returns what it set and what it left. */
export async function settleSlotOwners(clients: readonly NodeClient[], states: readonly NodeState[], disputed: readonly number[], log: Logger): Promise<SettleResult> {
  const masters = states.filter((s) => s.myself.role === 'master');
  const clientOf = (s: NodeState) => clients.find((c) => c.address === s.node.address) as NodeClient;
  const views = states.map(slotOwners);
  const masterViews = new Map(masters.map((m) => [m.id, views[states.indexOf(m)]]));
  const serves = new Map(masters.map((m) => [m.id, new Set(slotsOf(m.myself.slots))]));
  const open = new Set(states.flatMap((s) => s.myself.openSlots.map((o) => o.slot)));
  const unsettled = new Map<string, number[]>();
  const leave = (slot: number, reason: string) => unsettled.set(reason, [...(unsettled.get(reason) ?? []), slot]);
  const owner = new Map<number, { id: string; reason: OwnerReason }>();
  const keyless: number[] = [];

  for (const slot of disputed) {
    if (open.has(slot)) continue;
    const named = views.map((v) => v[slot]);
    if (named.includes(undefined)) {
      leave(
        slot,
        `a node names no master for it (${states
          .filter((_, i) => named[i] === undefined)
          .map((s) => s.node.address)
          .join(', ')})`,
      );
      continue;
    }
    const claimants = masters.filter((m) => serves.get(m.id)?.has(slot));
    if (claimants.length === 1) owner.set(slot, { id: claimants[0].id, reason: 'serves it' });
    else if (claimants.length > 1) leave(slot, `${claimants.map((m) => m.node.address).join(' and ')} both serve it: Redis settles that by config epoch`);
    else keyless.push(slot);
  }

  // No master lists them as its own: whoever holds their keys, else the majority of the masters.
  const counts = await Promise.all(
    masters.map(async (m) => {
      const replies = await clientOf(m).pipeline(
        'CLUSTER COUNTKEYSINSLOT',
        keyless.map((s) => ['CLUSTER', 'COUNTKEYSINSLOT', s]),
      );
      return replies.map((r, i) => {
        if ('error' in r || typeof r.value !== 'number')
          throw new Error(`CLUSTER COUNTKEYSINSLOT ${keyless[i]} on ${m.node.address}: ${'error' in r ? r.error : JSON.stringify(r.value)}`);
        return r.value;
      });
    }),
  );
  keyless.forEach((slot, i) => {
    const holders = masters.filter((_, m) => counts[m][i] > 0);
    if (holders.length > 1) leave(slot, `${holders.map((m) => m.node.address).join(' and ')} hold keys of it`);
    else if (holders.length === 1) owner.set(slot, { id: holders[0].id, reason: 'holds its keys' });
    else {
      const votes = new Map<string, number>();
      for (const view of masterViews.values()) votes.set(view[slot] as string, (votes.get(view[slot] as string) ?? 0) + 1);
      const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
      const top = masters.find((m) => m.id === ranked[0]?.[0]);
      if (top && ranked[1]?.[1] !== ranked[0][1]) owner.set(slot, { id: top.id, reason: 'named by most masters' });
      else leave(slot, 'no master serves it or holds its keys, and no owner is named by most masters');
    }
  });

  const set: OwnerSet[] = [];
  for (const m of masters) {
    const mine = [...owner.entries()].filter(([, o]) => o.id === m.id).map(([slot]) => slot);
    if (mine.length === 0) continue;
    const setNode = (s: number) => ['CLUSTER', 'SETSLOT', s, 'NODE', m.id];
    // The owner first (it takes the slots back into its own line), then every master naming another.
    const unclaimed = mine.filter((s) => !serves.get(m.id)?.has(s));
    checkReplies(clientOf(m), 'SETSLOT NODE', unclaimed, await perSlot(clientOf(m), 'SETSLOT NODE', unclaimed, setNode));
    for (const other of masters.filter((o) => o !== m)) {
      const wrong = mine.filter((s) => masterViews.get(other.id)?.[s] !== m.id);
      checkReplies(clientOf(other), 'SETSLOT NODE', wrong, await perSlot(clientOf(other), 'SETSLOT NODE', wrong, setNode));
    }
    const bumped = await clientOf(m).call('CLUSTER BUMPEPOCH', 'CLUSTER', 'BUMPEPOCH');
    if (typeof bumped !== 'string' || !BUMPED.test(bumped))
      throw new Error(`CLUSTER BUMPEPOCH on ${m.node.address}: expected BUMPED or STILL <epoch>, got ${JSON.stringify(bumped)}`);
    for (const reason of ['serves it', 'holds its keys', 'named by most masters'] as const) {
      const slots = mine.filter((s) => owner.get(s)?.reason === reason);
      if (slots.length === 0) continue;
      const entry = { node: m.node.address, slots: rangesOf(slots).map(formatRange), reason };
      log.warn('set the master of slots the nodes disagreed on', { ...entry, epoch: bumped });
      set.push(entry);
    }
  }
  return { set, unsettled: [...unsettled.entries()].map(([reason, slots]) => ({ slots, reason })) };
}
