/**
 * Redis calls that finish a piece of work must land: while Redis is away they are retried with
 * capped backoff, for as long as the caller's claim on the work surely holds. After that someone
 * else may already have taken the work over, and trying on would only race them.
 */
import { errorMessage, Logger } from '../log';
import { sleep } from '../sleep';

/** Retry delay after the n-th consecutive Redis error: 100 ms doubling, capped at 2 s. */
export function redisRetryDelay(errors: number): number {
  return Math.min(100 * 2 ** Math.max(0, errors - 1), 2000);
}

/**
 * Runs `call` until it succeeds, or until `giveUpAt()` (local ms) has passed after a failure;
 * then logs `<what> failed; giving up: <consequence>` and resolves `undefined`. Failures are
 * logged, the first and every tenth.
 */
export async function untilLanded<T>(what: string, call: () => Promise<T>, giveUpAt: () => number, log: Logger, consequence: string): Promise<T | undefined> {
  for (let errors = 1; ; errors++) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() + redisRetryDelay(errors) >= giveUpAt()) {
        log.error(`${what} failed; giving up: ${consequence}`, { error: errorMessage(error), attempts: errors });
        return undefined;
      }
      if (errors === 1 || errors % 10 === 0) log.warn(`${what} failed; retrying`, { error: errorMessage(error), attempts: errors });
      await sleep(redisRetryDelay(errors));
    }
  }
}
