/** Redis Cluster's hash slots: how many there are, ranges of them, and an even split over masters. */

/** Every key hashes to one of these (CRC16 mod 16384). */
export const SLOT_COUNT = 16384;

/** Inclusive range of slots, as CLUSTER NODES and ADDSLOTSRANGE write them. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
}

/** `5461` or `0-5460`. */
export function formatRange(range: SlotRange): string {
  return range.start === range.end ? String(range.start) : `${range.start}-${range.end}`;
}

/** `5461` or `0-5460` back to a range (formatRange's inverse). */
export function parseRange(text: string): SlotRange {
  const [start, end = start] = text.split('-').map(Number);
  return { start, end };
}

/** Sorted slots (duplicates allowed) as the fewest ranges. */
export function rangesOf(slots: Iterable<number>): SlotRange[] {
  const sorted = [...new Set(slots)].sort((a, b) => a - b);
  const ranges: SlotRange[] = [];
  for (const slot of sorted) {
    const last = ranges.at(-1);
    if (last && last.end === slot - 1) ranges[ranges.length - 1] = { start: last.start, end: slot };
    else ranges.push({ start: slot, end: slot });
  }
  return ranges;
}

/** Every slot of the ranges, in order. */
export function slotsOf(ranges: readonly SlotRange[]): number[] {
  return ranges.flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i));
}

export function countSlots(ranges: readonly SlotRange[]): number {
  return ranges.reduce((n, r) => n + r.end - r.start + 1, 0);
}

/** Master `index` of `masters`' share of the slots: contiguous, sizes differing by at most one, covering all. */
export function evenShare(index: number, masters: number): SlotRange {
  return { start: Math.floor((index * SLOT_COUNT) / masters), end: Math.floor(((index + 1) * SLOT_COUNT) / masters) - 1 };
}
