/**
 * Timers for any delay. Node's timers take at most 2^31 - 1 ms (about 24.8 days): a longer delay
 * fires at once, with a TimeoutOverflowWarning. Every timer of the runtime goes through here.
 */
import { performance } from 'perf_hooks';

/** The longest delay a Node timer takes. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Stops the timer; the callback never runs. */
  clear(): void;
}

/**
 * setTimeout for any delay: past {@link MAX_TIMER_MS} it is waited out in chunks (measured on the
 * monotonic clock); Infinity never fires; NaN or a negative delay fires on the next turn.
 */
export function setLongTimeout(callback: () => void, ms: number): LongTimer {
  const due = performance.now() + (ms > 0 ? ms : 0);
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = due - performance.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(callback, Math.max(0, left));
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}

/**
 * A setInterval period Node takes: at least 1 ms, at most {@link MAX_TIMER_MS}. For periodic
 * work where running more often than asked does no harm (renewing leases, reaping).
 */
export function intervalMs(ms: number): number {
  return Math.min(Math.max(Number.isFinite(ms) ? ms : MAX_TIMER_MS, 1), MAX_TIMER_MS);
}

/** Resolves after `ms`, or early (without error) when `signal` aborts, so loops notice a stop at once. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      timer.clear();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
