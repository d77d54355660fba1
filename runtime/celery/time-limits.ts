/**
 * Celery's task time limits (`timelimit` = [hard, soft] seconds) for handlers that all run in one
 * process: at the soft limit the task's signal aborts with SoftTimeLimitExceeded (the handler
 * fails with it if it throws it, as a Python task does unless it catches it); at the hard limit
 * the task fails with TimeLimitExceeded whatever the handler does. A handler cannot be killed, so
 * past its hard limit it runs on to its end (its outcome dropped).
 */
import type { TimeLimit } from './message';
import { LongTimer, setLongTimeout } from '../sleep';
import { softTimeLimitExceeded, timeLimitExceeded } from './results';

export interface TimeLimited {
  /** The handler's outcome, or a TimeLimitExceeded rejection at the hard limit. */
  readonly outcome: Promise<unknown>;
  /** True once the hard limit passed before the handler returned. */
  readonly hardFired: boolean;
  /** Stops the timers (call once the outcome settled). */
  clear(): void;
}

export function withTimeLimits(running: Promise<unknown>, limits: TimeLimit, abort: AbortController): TimeLimited {
  const soft = limits.soft !== undefined ? setLongTimeout(() => abort.abort(softTimeLimitExceeded()), limits.soft * 1000) : undefined;
  let hard: LongTimer | undefined;
  const control = {
    hardFired: false,
    outcome: running,
    clear: () => {
      soft?.clear();
      hard?.clear();
    },
  };
  if (limits.hard !== undefined) {
    const seconds = limits.hard;
    const expired = new Promise<never>((_, reject) => {
      hard = setLongTimeout(() => {
        control.hardFired = true;
        const error = timeLimitExceeded(seconds);
        if (!abort.signal.aborted) abort.abort(error);
        reject(error);
      }, seconds * 1000);
    });
    control.outcome = Promise.race([running, expired]);
  }
  return control;
}
