import { silentLogger } from '../../../runtime/log';
import { Batched, BatchWriter } from '../../../runtime/redis/batch-writer';

/** A writer whose calls are recorded and fail while `failing` is above 0. */
function recordingWriter(options: { failing?: number; retryUntil?: (item: number) => number; maxBatch?: number } = {}) {
  const calls: Array<Array<{ item: number; retried: boolean }>> = [];
  let failing = options.failing ?? 0;
  const writer = new BatchWriter<number, string>({
    what: 'numbers',
    givingUpMeans: 'they are lost',
    maxBatch: options.maxBatch ?? 100,
    givenUp: 'given up',
    retryUntil: options.retryUntil,
    log: silentLogger,
    write: async (batch: readonly Batched<number>[]) => {
      calls.push(batch.map((b) => ({ item: b.item, retried: b.retried })));
      if (failing-- > 0) throw new Error('Redis is away');
      return batch.map((b) => (b.retried ? `retried ${b.item}` : `wrote ${b.item}`));
    },
  });
  return { writer, calls };
}

test('items asked for in the same tick go out in one call, split at maxBatch', async () => {
  const { writer, calls } = recordingWriter({ maxBatch: 3 });
  const outcomes = await Promise.all([1, 2, 3, 4].map((n) => writer.write(n)));
  expect(outcomes).toEqual(['wrote 1', 'wrote 2', 'wrote 3', 'wrote 4']);
  expect(calls.map((c) => c.map((x) => x.item))).toEqual([[1, 2, 3], [4]]);
});

test('a failed call is retried with the items marked retried, and their outcomes come from the call that landed', async () => {
  const { writer, calls } = recordingWriter({ failing: 2 });
  expect(await Promise.all([writer.write(1), writer.write(2)])).toEqual(['retried 1', 'retried 2']);
  expect(calls).toHaveLength(3);
  expect(calls[0].every((x) => !x.retried)).toBe(true);
  expect(calls[2].every((x) => x.retried)).toBe(true);
});

test('an item past its own deadline is given up while the others go on', async () => {
  const { writer } = recordingWriter({ failing: 1, retryUntil: (n) => (n === 1 ? Date.now() : Infinity) });
  expect(await Promise.all([writer.write(1), writer.write(2)])).toEqual(['given up', 'retried 2']);
});

test('close gives up on what has not landed by its deadline', async () => {
  const { writer, calls } = recordingWriter({ failing: Infinity });
  const outcome = writer.write(7);
  await new Promise((r) => setTimeout(r, 50));
  await writer.close(Date.now() + 300);
  expect(await outcome).toBe('given up');
  expect(calls.length).toBeGreaterThan(1);
});
