/**
 * Acknowledgements in batches (see BatchWriter): an ack that fails (Redis away) is retried until
 * it lands or the lease surely ran out.
 */
import { Logger } from '../log';
import { BatchWriter } from '../redis/batch-writer';
import type { LeasedEvent } from './leases';
import type { Queue } from './queue';

/**
 * `acked`: done. `lost`: the lease had run out and the event was requeued; it runs again.
 * `unconfirmed`: Redis did not answer in time; if the ack did not land, the event runs again.
 */
export type AckResult = 'acked' | 'lost' | 'unconfirmed';

/** Tokens per ACK call: a bound on the time one script holds Redis. */
export const MAX_ACK_BATCH = 500;

export type Acker = BatchWriter<LeasedEvent, AckResult>;

export function createAcker(queue: Queue, log: Logger): Acker {
  return new BatchWriter<LeasedEvent, AckResult>({
    what: 'acknowledgements',
    givingUpMeans: 'if they did not land, the events run again',
    maxBatch: MAX_ACK_BATCH,
    givenUp: 'unconfirmed',
    retryUntil: (held) => held.heldUntil,
    log,
    write: async (batch) => {
      const held = await queue.ackMany(batch.map((b) => b.item.claim.token));
      // After a failed call a missing lease may mean that call landed after all.
      return batch.map((b, i) => (held[i] ? 'acked' : b.retried ? 'unconfirmed' : 'lost'));
    },
  });
}
