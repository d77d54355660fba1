/**
 * Results and acks in batches (see BatchWriter): tasks that finish in the same tick are written in
 * one FINISH call. A call that fails (Redis away) is retried until it lands or the finisher is
 * closed past its deadline; what never landed stays in `unacked` and is restored after the
 * visibility timeout (at least once).
 */
import { Logger } from '../log';
import { BatchWriter } from '../redis/batch-writer';
import { CeleryBroker, Finished, MAX_FINISH_BATCH } from './broker';

/** Resolves true once the result and ack landed, false if they were given up at close. */
export type Finisher = BatchWriter<Finished, boolean>;

export function createFinisher(broker: CeleryBroker, log: Logger): Finisher {
  return new BatchWriter<Finished, boolean>({
    what: 'results',
    givingUpMeans: 'the tasks stay unacknowledged and are restored after the visibility timeout',
    maxBatch: MAX_FINISH_BATCH,
    givenUp: false,
    log,
    write: async (batch) => {
      await broker.finish(batch.map((b) => b.item));
      return batch.map(() => true);
    },
  });
}
