import { SlotMove } from '../../../runtime/cluster/migrate';
import { planRebalance, RebalanceMaster, shares } from '../../../runtime/cluster/rebalance-plan';
import { evenShare, formatRange, rangesOf } from '../../../runtime/cluster/slots';

/** Moves per (from, to) pair as slot ranges. */
function summary(moves: readonly SlotMove[]): Record<string, string[]> {
  const pairs: Record<string, number[]> = {};
  for (const m of moves) (pairs[`${m.from}->${m.to}`] ??= []).push(m.slot);
  return Object.fromEntries(Object.entries(pairs).map(([k, v]) => [k, rangesOf(v).map(formatRange)]));
}

/** The first `n` ids with create's even shares. */
const created = (ids: string[]): RebalanceMaster[] => ids.map((id, i) => ({ id, slots: [evenShare(i, ids.length)] }));

test('3 masters and 2 empty ones: 2/5 of the slots move, the leftover slots stay with masters that hold them, each donor gives its highest slots', () => {
  const masters = [...created(['a', 'b', 'c']), { id: 'd', slots: [] }, { id: 'e', slots: [] }];
  expect(shares(masters)).toEqual([3277, 3277, 3277, 3277, 3276]);
  const moves = planRebalance(masters);
  expect(moves).toHaveLength(6553);
  expect(summary(moves)).toEqual({
    'a->d': ['3277-5460'],
    'b->d': ['8738-9830'],
    'b->e': ['9831-10921'],
    'c->e': ['14199-16383'],
  });
});

test('back from 5 to 3: weight 0 drains two masters onto the others, and only their slots move', () => {
  const masters = created(['a', 'b', 'c', 'd', 'e']).map((m) => ({ ...m, weight: ['d', 'e'].includes(m.id) ? 0 : 1 }));
  expect(shares(masters)).toEqual([5462, 5461, 5461, 0, 0]);
  const moves = planRebalance(masters);
  // create's shares of 5: a 0-3275 (3276 slots), b 3276-6552, c 6553-9829, d 9830-13106, e 13107-16383 (3277 each).
  expect(moves).toHaveLength(3277 + 3277);
  expect(summary(moves)).toEqual({ 'd->a': ['9830-12015'], 'd->b': ['12016-13106'], 'e->b': ['13107-14199'], 'e->c': ['14200-16383'] });
});

test('a balanced cluster plans nothing, whichever masters hold the one extra slot', () => {
  expect(planRebalance(created(['a', 'b', 'c']))).toEqual([]);
  const shifted: RebalanceMaster[] = [
    { id: 'a', slots: [{ start: 0, end: 5460 }] },
    { id: 'b', slots: [{ start: 5461, end: 10922 }] },
    { id: 'c', slots: [{ start: 10923, end: 16383 }] },
  ];
  expect(planRebalance(shifted)).toEqual([]);
});

test('weights: twice the weight, twice the slots; invalid weights are refused', () => {
  const masters: RebalanceMaster[] = [
    { id: 'a', slots: [{ start: 0, end: 16383 }], weight: 2 },
    { id: 'b', slots: [], weight: 1 },
    { id: 'c', slots: [], weight: 1 },
  ];
  expect(shares(masters)).toEqual([8192, 4096, 4096]);
  expect(summary(planRebalance(masters))).toEqual({ 'a->b': ['8192-12287'], 'a->c': ['12288-16383'] });
  expect(() => shares([{ id: 'a', slots: [], weight: 0 }])).toThrow('rebalance needs at least one master with a weight above 0');
  expect(() =>
    shares([
      { id: 'a', slots: [], weight: -1 },
      { id: 'b', slots: [] },
    ]),
  ).toThrow('weights must be finite numbers of at least 0, got -1, 1');
});
