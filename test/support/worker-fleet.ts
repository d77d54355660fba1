/** The chaos tests' fleet of worker processes (one killed and replaced at a time) and their malformed events. */
import { sleep } from '../../runtime/sleep';
import { ProcessResult, RunningProcess } from './cli';

/** What a worker logs once it listens for signals, and once it consumes. */
const STARTED_LOG = 'health server listening';
const CONSUMING_LOG = 'consumer started';

/** A fixed number of worker slots; killing one starts its replacement at once. */
export class Fleet {
  /** Every worker ever started, for their logs. */
  readonly all: RunningProcess[] = [];
  readonly killed: ProcessResult[] = [];
  private readonly slots: RunningProcess[];

  constructor(
    private readonly spawn: () => RunningProcess,
    size: number,
  ) {
    this.slots = Array.from({ length: size }, () => this.start());
  }

  /** SIGKILLs the next worker once it consumes (a worker still starting holds no work, and on a loaded machine killing starters would starve the queue). */
  async killOne(): Promise<void> {
    const slot = this.killed.length % this.slots.length;
    const victim = this.slots[slot];
    await victim.waitForLog((l) => l.msg === CONSUMING_LOG, 20_000).catch(() => undefined);
    victim.child.kill('SIGKILL');
    this.killed.push(await victim.done);
    this.slots[slot] = this.start();
  }

  /** Kills one worker every `everyMs` (each replaced at once) until the returned stop is called; stop waits for the kill under way. */
  killEvery(everyMs: number): () => Promise<void> {
    let killing = true;
    const loop = (async () => {
      while (killing) {
        await sleep(everyMs);
        if (killing) await this.killOne();
      }
    })();
    return () => {
      killing = false;
      return loop;
    };
  }

  /** SIGTERM to every live worker once it listens for it (a replacement may be starting); their results. */
  async stop(): Promise<ProcessResult[]> {
    await Promise.all(this.slots.map((worker) => worker.waitForLog((l) => l.msg === STARTED_LOG, 20_000)));
    for (const worker of this.slots) worker.child.kill('SIGTERM');
    return Promise.all(this.slots.map((worker) => worker.done));
  }

  private start(): RunningProcess {
    const worker = this.spawn();
    this.all.push(worker);
    return worker;
  }
}

/** Distinct malformed events of the kinds consumers meet: not JSON, not an object, a field missing or wrong. */
export function malformedEvent(i: number): string {
  const kinds = [`not json #${i}`, `[${i}]`, `{"id": "bad-${i}"}`, `{"id": "bad-${i}", "wait": -1}`, `{"id": "bad-${i}", "wait": "soon"}`];
  return kinds[i % kinds.length];
}
