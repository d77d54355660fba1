/**
 * The Celery consumer (`redis-keda celery-worker`): claims messages through the claim engine (as
 * many as there are free slots), sorts each (run, hold for its eta, or settle without running),
 * runs tasks `concurrency` at a time, honours revokes, and at stop hands back what waits, gives
 * running tasks the grace period and hands back the rest. Results are stored and acknowledged
 * after the task (acks_late), and kombu's unacked bookkeeping is kept (UnackedUpkeep).
 */
import { DEFAULT_CELERY_MAX_ETA_HELD } from '../contract';
import { ClaimEngine } from '../claim/engine';
import { StopClock } from '../claim/stop';
import { CELERY_CLAIMING } from '../claim/tuning';
import { CeleryBroker } from './broker';
import type { CeleryConsumerOptions } from './consumer-options';
import { listenForControl, RevokedIds } from './control';
import { createFinisher, Finisher } from './finisher';
import { HeldTask, HeldTasks } from './held-tasks';
import { createCeleryWorkerMetrics, CeleryWorkerMetrics } from './metrics';
import { revokeHeld } from './revocation';
import { route, RoutingDeps } from './routing';
import { Settler } from './settle';
import { runTask, TaskRunDeps } from './task-run';
import { UnackedUpkeep } from './upkeep';

/** When a claim brought only tasks for other workers (`--unknown-task requeue`), claiming pauses this long so one worker does not spin on them. */
export const REQUEUE_PAUSE_MS = 1000;

export type { CeleryConsumerOptions, UnknownTaskPolicy } from './consumer-options';

/** Runs a Celery consumer until `signal` aborts and it has stopped. */
export async function runCeleryConsumer(options: CeleryConsumerOptions): Promise<void> {
  await new CeleryConsumer(options).run();
}

export class CeleryConsumer {
  private readonly broker: CeleryBroker;
  private readonly finisher: Finisher;
  private readonly metrics: CeleryWorkerMetrics;
  private readonly maxEtaHeld: number;
  private readonly held: HeldTasks;
  private readonly settler: Settler;
  private readonly engine: ClaimEngine;
  private readonly clock = new StopClock();
  private readonly runDeps: TaskRunDeps;
  private readonly routing: RoutingDeps;
  private running = 0;
  private idle?: () => void;
  private pauseUntil = 0;
  /** Task ids revoked through Celery's remote control. */
  private readonly revoked = new RevokedIds();

  constructor(private readonly options: CeleryConsumerOptions) {
    this.broker = new CeleryBroker(options.redis, options.queues, options.resultExpires);
    this.finisher = createFinisher(this.broker, options.log);
    this.metrics = options.metrics ?? createCeleryWorkerMetrics();
    this.metrics.seedTasks(options.tasks.names);
    this.maxEtaHeld = options.maxEtaHeld ?? DEFAULT_CELERY_MAX_ETA_HELD;
    if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) throw new Error(`'concurrency' (${options.concurrency}) must be an integer of at least 1`);
    if (!(options.visibilitySeconds > 0)) throw new Error(`'visibilitySeconds' (${options.visibilitySeconds}) must be greater than 0`);
    this.settler = new Settler(this.broker, this.metrics, options.log, this.clock.handoffBy, options.tasks.names);
    this.held = new HeldTasks(
      () => {
        this.pump();
        this.engine.wake();
      },
      (h) => {
        this.settler.background(this.settler.revoke(h.delivery, h.task, 'expired'));
        this.engine.wake();
      },
    );
    const { redis, blocking, signal, log, concurrency } = options;
    this.engine = new ClaimEngine(
      { concurrency, signal, redis, blocking, log, tuning: CELERY_CLAIMING },
      {
        busy: () => this.running + this.held.waitingForSlot,
        saturated: () => this.held.waitingForEta >= this.maxEtaHeld,
        pausedUntil: () => this.pauseUntil,
        claim: (want) => this.claim(want),
        waitForWork: (connection, timeoutMs) => this.broker.waitForMessages(connection, timeoutMs),
      },
    );
    this.routing = { options, settler: this.settler, held: this.held, revoked: this.revoked };
    this.runDeps = {
      ...options,
      metrics: this.metrics,
      finisher: this.finisher,
      settler: this.settler,
      slotFree: () => {
        this.running--;
        this.pump();
        this.engine.wake();
      },
      done: (h) => {
        this.held.release(h);
        if (this.running === 0) this.idle?.();
      },
    };
  }

  /** Messages held now (running, waiting for their eta or a slot, or finishing). */
  get holding(): number {
    return this.held.size;
  }

  async run(): Promise<void> {
    const { options } = this;
    const { log } = options;
    this.metrics.watch(() => this.held.size);
    const upkeep = new UnackedUpkeep(this.broker, options.redis, options.visibilitySeconds, this.held, this.metrics, log);
    if (options.control)
      await listenForControl(
        options.control,
        options.redis,
        options.hostname,
        (r) => {
          revokeHeld(r, this.held, this.settler, this.revoked);
          this.engine.wake();
        },
        log,
      );
    await upkeep.start();
    log.info('celery worker started', {
      queues: options.queues,
      concurrency: options.concurrency,
      tasks: options.tasks.names,
      visibilityTimeout: options.visibilitySeconds,
      unknownTask: options.unknownTask,
    });
    let stoppedAt = Date.now();
    try {
      stoppedAt = await this.engine.run();
    } finally {
      await upkeep.stopRestoring();
    }
    try {
      await this.stop(stoppedAt + options.graceMs);
    } finally {
      await upkeep.stopTouching();
    }
    log.info('celery worker stopped', { ...this.settler.tally });
  }

  private async claim(want: number): Promise<{ drained: boolean }> {
    const claimed = await this.broker.claim(want);
    if (claimed.deadLettered > 0) {
      this.metrics.deadLettered.inc(claimed.deadLettered);
      this.options.log.warn('messages that are not JSON objects dead-lettered', { messages: claimed.deadLettered, reason: 'malformed' });
    }
    let requeued = 0;
    let held = 0;
    for (const delivery of claimed.deliveries) {
      const outcome = route(delivery, this.routing);
      if (outcome === 'requeued') requeued++;
      else if (outcome === 'held') held++;
    }
    // Only tasks for other workers came: pause, or this worker would take them again at once.
    if (requeued > 0 && held === 0) this.pauseUntil = Date.now() + REQUEUE_PAUSE_MS;
    this.pump();
    return { drained: claimed.deliveries.length + claimed.deadLettered < want };
  }

  /** Starts due tasks while slots are free. */
  private pump(): void {
    while (this.running < this.options.concurrency) {
      const held = this.held.nextDue();
      if (!held) return;
      this.running++;
      void runTask(held, this.runDeps);
    }
  }

  /**
   * Stop: eta tasks and tasks waiting for a slot go back at once; running tasks get until
   * `graceDeadline`; then the rest goes back too, and results under way get the hand-off time to land.
   */
  private async stop(graceDeadline: number): Promise<void> {
    const { log } = this.options;
    this.clock.begin(graceDeadline);
    const waiting = this.held.withdrawWaiting();
    if (waiting.length > 0) await this.handBack(waiting, 'tasks not started');
    if (this.running > 0) log.info('finishing running tasks', { tasks: this.running, graceSeconds: Math.max(0, (graceDeadline - Date.now()) / 1000) });
    await this.clock.graceWait(graceDeadline, (idle) => (this.running === 0 ? idle() : (this.idle = idle)));
    const unfinished = this.held.all().filter((h) => h.state === 'running');
    if (unfinished.length > 0) {
      for (const h of unfinished) h.abort?.abort();
      await this.handBack(unfinished, 'grace period over: running tasks');
    }
    await Promise.all([this.finisher.close(this.clock.handoffBy()), this.settler.drain()]);
  }

  private async handBack(list: HeldTask[], what: string): Promise<void> {
    for (const h of list) {
      h.handedBack = true;
      this.held.release(h);
    }
    const tags = list.map((h) => h.delivery.tag);
    const result = await this.settler.untilLanded('hand-back', () => this.broker.restoreTags(tags));
    this.settler.tally.handedBack += result?.restored ?? 0;
    this.options.log.warn(`${what} handed back to their queues`, { tasks: list.length, handedBack: result?.restored ?? 0, taskIds: list.map((h) => h.task.id) });
  }
}
