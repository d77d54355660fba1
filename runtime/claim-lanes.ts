/**
 * Claim lanes: several claim loops under way at once, each for its share of the slots, so while
 * the handlers of one batch run the next claim is already on its way and neither Redis nor this
 * process waits for the other. Both workers (queue consumer, Celery worker) claim this way.
 */
export function runClaimLanes(
  lanes: number,
  concurrency: number,
  maxBatch: number,
  claimLoop: (batchLimit: number) => Promise<void>,
): Promise<void[]> {
  const n = Math.max(1, Math.min(lanes, concurrency));
  const batchLimit = Math.min(Math.ceil(concurrency / n), maxBatch);
  return Promise.all(Array.from({ length: n }, () => claimLoop(batchLimit)));
}
