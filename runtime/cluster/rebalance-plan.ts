/**
 * Which slots move where so every master serves its share (pure): shares by weight (even by default),
 * counts differing by at most one between masters of equal weight, and only the slots above a
 * master's share move (the fewest moves that reach the shares). A master gives its highest slots
 * away, so what it keeps stays contiguous.
 */
import { SlotMove } from './migrate';
import { SLOT_COUNT, SlotRange, slotsOf } from './slots';

export interface RebalanceMaster {
  readonly id: string;
  /** The slots it serves now. */
  readonly slots: readonly SlotRange[];
  /** Its share relative to the others'; 0 drains it. @default 1 */
  readonly weight?: number;
}

/**
 * Slot counts by weight, summing to 16384: each master's floor of its exact share, and the slots left over to
 * the masters that serve more than their floor already (so a balanced cluster plans nothing), then by the
 * largest remainder, ties to the master listed first.
 */
export function shares(masters: readonly RebalanceMaster[]): number[] {
  const weights = masters.map((m) => m.weight ?? 1);
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.some((w) => !(w >= 0) || !Number.isFinite(w))) throw new Error(`weights must be finite numbers of at least 0, got ${weights.join(', ')}`);
  if (masters.length === 0 || !(total > 0)) throw new Error('rebalance needs at least one master with a weight above 0');
  const exact = weights.map((w) => (w * SLOT_COUNT) / total);
  const counts = exact.map(Math.floor);
  let left = SLOT_COUNT - counts.reduce((a, b) => a + b, 0);
  const current = masters.map((m) => slotsOf(m.slots).length);
  const order = exact.map((e, i) => ({ i, rest: e - Math.floor(e), keeps: current[i] > counts[i] ? 1 : 0 })).sort((a, b) => b.keeps - a.keeps || b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (weights[i] === 0) continue;
    counts[i]++;
    left--;
  }
  return counts;
}

/** The moves, donors and receivers in the order listed; slots served by none of `masters` are not this plan's (fix covers them). */
export function planRebalance(masters: readonly RebalanceMaster[]): SlotMove[] {
  const want = shares(masters);
  const gives = masters.map((m, i) => {
    const owned = slotsOf(m.slots);
    const surplus = owned.length - want[i];
    return surplus > 0 ? owned.slice(owned.length - surplus) : [];
  });
  const needs = masters.map((m, i) => Math.max(0, want[i] - slotsOf(m.slots).length));
  const moves: SlotMove[] = [];
  let receiver = 0;
  for (const [donor, slots] of gives.entries()) {
    for (const slot of slots) {
      while (receiver < masters.length && needs[receiver] === 0) receiver++;
      if (receiver === masters.length) return moves;
      moves.push({ slot, from: masters[donor].id, to: masters[receiver].id });
      needs[receiver]--;
    }
  }
  return moves;
}
