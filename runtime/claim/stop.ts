/**
 * The clock of a graceful stop, the same for both workers: work running at the stop gets until
 * the grace deadline; from the end of that wait (all work done, or the deadline), HANDOFF_MS to
 * hand back what did not finish and let outcomes land, within the pod's termination margin.
 */
import { sleep } from '../sleep';

/** Hand-off time, counted from the end of the grace wait (the constructs give pods grace + 10 s). */
export const HANDOFF_MS = 5000;

export class StopClock {
  private by = Infinity;

  /** Until when a Redis call that settles work is retried (untilLanded's giveUpAt): Infinity until the stop. */
  readonly handoffBy = (): number => this.by;

  /** The stop has begun: whatever happens, the hand-off ends by `graceDeadline` + HANDOFF_MS. */
  begin(graceDeadline: number): void {
    this.by = Math.min(this.by, graceDeadline + HANDOFF_MS);
  }

  /**
   * Waits until `onIdle`'s callback runs (the worker calls it when nothing runs any more) or
   * `graceDeadline` (local ms) passes; HANDOFF_MS counts from then.
   */
  async graceWait(graceDeadline: number, onIdle: (idle: () => void) => void): Promise<void> {
    this.begin(graceDeadline);
    const timeout = new AbortController();
    await Promise.race([new Promise<void>(onIdle), sleep(graceDeadline - Date.now(), timeout.signal)]);
    timeout.abort();
    this.by = Math.min(this.by, Date.now() + HANDOFF_MS);
  }
}
