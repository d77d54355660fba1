/** What a producer gets when Redis is at `maxmemory` with `noeviction`: a refusal to name plainly. */
import { Counter, Registry } from 'prom-client';
import { Metrics } from '../contract';

/** Redis refused a write that would grow memory past `maxmemory` (its `-OOM` error). */
export function isOomError(error: unknown): boolean {
  return error instanceof Error && /^OOM\b/.test(error.message);
}

/**
 * The queue's Redis is full: it refuses new work until consumers drain some (they still can).
 * Nothing of the refused batch was stored.
 */
export class QueueFullError extends Error {
  constructor(
    readonly list: string,
    readonly refused: number,
  ) {
    super(
      `queue full: Redis is at its maxmemory and refused ${refused} new ${refused === 1 ? 'item' : 'items'} for '${list}' (nothing of them was stored); consumers still drain it, so retry later or give Redis more memory`,
    );
    this.name = 'QueueFullError';
  }
}

/** Runs a push, turning Redis' OOM refusal into a {@link QueueFullError}. */
export async function pushOrQueueFull<T>(list: string, count: number, push: () => Promise<T>): Promise<T> {
  try {
    return await push();
  } catch (error) {
    throw isOomError(error) ? new QueueFullError(list, count) : error;
  }
}

/** redis_keda_publish_rejected_total, for every producer (publish, celery-send). */
export function createRejectedCounter(registry: Registry): Counter {
  return new Counter({ name: Metrics.PUBLISH_REJECTED, help: 'Events or tasks Redis refused at maxmemory (queue full); none of them was stored.', registers: [registry] });
}
