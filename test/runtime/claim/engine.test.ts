import { runClaimLanes } from '../../../runtime/claim/engine';

async function limits(lanes: number, concurrency: number, maxBatch: number): Promise<number[]> {
  const seen: number[] = [];
  await runClaimLanes(lanes, concurrency, maxBatch, async (limit) => void seen.push(limit));
  return seen;
}

test('the slots are shared among the lanes, each lane capped at maxBatch', async () => {
  expect(await limits(3, 100, 500)).toEqual([34, 34, 34]);
  expect(await limits(2, 2000, 500)).toEqual([500, 500]);
});

test('never more lanes than slots, and at least one', async () => {
  expect(await limits(3, 1, 500)).toEqual([1]);
  expect(await limits(0, 5, 500)).toEqual([5]);
});
