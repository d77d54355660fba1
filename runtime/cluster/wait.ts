/** Waiting for the cluster to converge: on a deadline, with progress on stderr and, on timeout, what still differed. */
import { Logger } from '../log';
import { sleep } from '../sleep';

export interface Probe {
  readonly done: boolean;
  /** What is still missing, for progress lines and the timeout error. */
  readonly detail: string;
}

const PROGRESS_EVERY_MS = 2_000;

/** Polls `probe` until it says done; throws `timed out after <s> s waiting for <what>: <detail>` after `timeoutMs`. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<Probe>, log: Logger, intervalMs = 200): Promise<void> {
  const start = Date.now();
  let lastProgress = start;
  for (;;) {
    const result = await probe();
    if (result.done) {
      log.debug(`done waiting for ${what}`, { ms: Date.now() - start });
      return;
    }
    const now = Date.now();
    if (now - start >= timeoutMs) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}: ${result.detail}`);
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      log.info(`waiting for ${what}`, { seconds: Math.round((now - start) / 1000), missing: result.detail });
      lastProgress = now;
    }
    await sleep(intervalMs);
  }
}
