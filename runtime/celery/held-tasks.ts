/**
 * The messages a Celery consumer holds, by delivery tag, from the claim until their result has
 * landed or they were handed back: eta tasks wait on a timer without a slot, due tasks wait for a
 * slot (oldest first), running and finishing ones hold one.
 */
import { LongTimer, setLongTimeout } from '../sleep';
import type { Delivery } from './broker';
import type { CeleryTask } from './message';

export type HeldState = 'eta' | 'due' | 'running' | 'finishing';

/** A message in hand, with the task it carries. */
export interface HeldTask {
  readonly delivery: Delivery;
  readonly task: CeleryTask;
  state: HeldState;
  timer?: LongTimer;
  abort?: AbortController;
  /** Handed back at stop, or revoked while running: whatever its handler does now is ignored. */
  handedBack: boolean;
}

export class HeldTasks {
  private readonly byTag = new Map<string, HeldTask>();
  /** Tasks due, waiting for a slot (oldest first). */
  private due: HeldTask[] = [];
  private etaCount = 0;

  constructor(
    /** An eta task fell due (it waits for a slot now). */
    private readonly onDue: () => void,
    /** An eta task expired while it waited: it is no longer held, and must be settled REVOKED. */
    private readonly onExpired: (held: HeldTask) => void,
  ) {}

  get size(): number {
    return this.byTag.size;
  }

  /** Eta tasks waiting for their time. */
  get waitingForEta(): number {
    return this.etaCount;
  }

  /** Due tasks waiting for a slot. */
  get waitingForSlot(): number {
    return this.due.length;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  tags(): string[] {
    return [...this.byTag.keys()];
  }

  all(): HeldTask[] {
    return [...this.byTag.values()];
  }

  /** Holds a claimed task: due at once, or (`eta` in the future) when its timer fires. */
  hold(delivery: Delivery, task: CeleryTask, now: number): HeldTask {
    const held: HeldTask = { delivery, task, state: 'due', handedBack: false };
    this.byTag.set(delivery.tag, held);
    if (task.eta !== undefined && task.eta > now) {
      held.state = 'eta';
      this.etaCount++;
      held.timer = setLongTimeout(() => this.etaReached(held), task.eta - now);
    } else {
      this.due.push(held);
    }
    return held;
  }

  /** The oldest due task, now taken off the due list. */
  nextDue(): HeldTask | undefined {
    return this.due.shift();
  }

  /** No longer held (its result landed, it was revoked or handed back). */
  release(held: HeldTask): void {
    this.byTag.delete(held.delivery.tag);
  }

  /** Takes a task that waits (eta or due) out of its wait; it stays held until released. */
  withdraw(held: HeldTask): void {
    held.timer?.clear();
    if (held.state === 'eta') this.etaCount--;
    else if (held.state === 'due') this.due = this.due.filter((d) => d !== held);
  }

  /** At stop: every task that waits (eta or due), out of its wait; they stay held until released. */
  withdrawWaiting(): HeldTask[] {
    const waiting = this.all().filter((h) => h.state === 'eta' || h.state === 'due');
    for (const h of waiting) h.timer?.clear();
    this.due = [];
    this.etaCount = 0;
    return waiting;
  }

  private etaReached(held: HeldTask): void {
    if (held.state !== 'eta') return;
    const wait = (held.task.eta ?? 0) - Date.now();
    if (wait > 0) {
      // The wall clock moved (eta is wall-clock time, timers are monotonic): wait the rest.
      held.timer = setLongTimeout(() => this.etaReached(held), wait);
      return;
    }
    held.timer = undefined;
    this.etaCount--;
    if (held.task.expires !== undefined && held.task.expires <= Date.now()) {
      this.byTag.delete(held.delivery.tag);
      this.onExpired(held);
      return;
    }
    held.state = 'due';
    this.due.push(held);
    this.onDue();
  }
}
