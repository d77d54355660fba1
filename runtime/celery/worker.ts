/**
 * The Celery worker loop: claims messages in batches (as many as there are free slots), runs
 * their tasks `concurrency` at a time, holds eta tasks without a slot until they are due, stores
 * results and acknowledges (acks_late: only after the result is stored), keeps every held
 * message fresh in `unacked_index`, restores other workers' timed-out messages, and at stop
 * finishes what runs within the grace period and hands back the rest.
 */
import { performance } from 'perf_hooks';
import { setImmediate as nextTick } from 'timers/promises';
import type Redis from 'ioredis';
import { CeleryKeys, DEFAULT_CELERY_MAX_ETA_HELD, type UnknownTaskPolicy } from '../contract';
import { runClaimLanes } from '../claim-lanes';
import { errorMessage, Logger } from '../log';
import { redisRetryDelay, untilLanded } from '../redis/retry';
import { intervalMs, LongTimer, setLongTimeout, sleep } from '../sleep';
import { CeleryBroker, Delivery, MAX_CLAIM_BATCH } from './broker';
import { createFinisher, Finisher } from './finisher';
import { CeleryTask, decodeMessage } from './message';
import { createCeleryWorkerMetrics, CeleryWorkerMetrics } from './metrics';
import { CeleryException, failureJson, integerTooLarge, notRegistered, RevokeReason, successJson, taskRevoked, toCeleryException, traceback } from './results';
import { withTimeLimits } from './time-limits';
import { listenForControl, Revoke, RevokedIds } from './control';
import { Task, TaskContext, TaskRegistry } from './tasks';
import { canvasSupported, checkCanvas, failureFollowUps, successFollowUps, UnsupportedCanvas } from './canvas';
import type { TaskMessage } from './producer';

/** The policy's one spelling is the contract's; re-exported for the runtime API. */
export type { UnknownTaskPolicy };

export interface CeleryWorkerOptions {
  /** The broker and result backend connection; the caller owns it. */
  readonly redis: Redis;
  /** A connection of its own for the blocking wait on an empty queue; without one the worker polls every 100 ms. */
  readonly blocking?: Redis;
  /** A connection of its own to listen on Celery's remote control channel (revoke); without one revokes are not seen. */
  readonly control?: Redis;
  /** Queues (Redis lists) to consume. */
  readonly queues: readonly string[];
  readonly tasks: TaskRegistry;
  readonly concurrency: number;
  /** The worker's name, e.g. `redis-keda@pod-1`. */
  readonly hostname: string;
  /** kombu's visibility_timeout (s): held messages older than this are restored. */
  readonly visibilitySeconds: number;
  /** Celery's result_expires (s; 0 keeps results forever). */
  readonly resultExpires: number;
  readonly unknownTask: UnknownTaskPolicy;
  /** After stop: how long running tasks may still finish before they are handed back (ms). */
  readonly graceMs: number;
  /** Eta tasks held at most. @default DEFAULT_CELERY_MAX_ETA_HELD */
  readonly maxEtaHeld?: number;
  /** Aborts to stop. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly metrics?: CeleryWorkerMetrics;
}

/** The longest blocking wait on an empty queue: other queues and priority lists are looked at least this often (kombu's BRPOP timeout). */
export const MAX_WAIT_MS = 1000;
/** When a claim brought only tasks for other workers (`--unknown-task requeue`), claiming pauses this long so one worker does not spin on them. */
export const REQUEUE_PAUSE_MS = 1000;
/** Claim calls under way at once, each for its share of the free slots. */
export const LANES = 2;
/** Time after the grace period to hand back what is held and let results land. */
export const HANDOFF_MS = 5000;

type HeldState = 'eta' | 'due' | 'running' | 'finishing';

interface Held {
  readonly delivery: Delivery;
  readonly task: CeleryTask;
  state: HeldState;
  timer?: LongTimer;
  abort?: AbortController;
  /** Handed back at stop, or revoked while running: whatever its handler does now is ignored. */
  handedBack: boolean;
}

/** Runs a worker until `signal` aborts and it has stopped. */
export async function runCeleryWorker(options: CeleryWorkerOptions): Promise<void> {
  await new CeleryWorker(options).run();
}

export class CeleryWorker {
  private readonly broker: CeleryBroker;
  private readonly finisher: Finisher;
  private readonly metrics: CeleryWorkerMetrics;
  private readonly maxEtaHeld: number;
  /** Every message held, by delivery tag. */
  private readonly held = new Map<string, Held>();
  /** Tasks due, waiting for a slot (oldest first). */
  private due: Held[] = [];
  private running = 0;
  private etaHeld = 0;
  /** Slots asked for by claims under way. */
  private reserved = 0;
  private waiters: (() => void)[] = [];
  private idle?: () => void;
  private messageWait?: Promise<void>;
  private pauseUntil = 0;
  private errors = 0;
  /** Task ids revoked through Celery's remote control. */
  private readonly revoked = new RevokedIds();
  /** What this worker did, for the line it logs when it stops. */
  private readonly tally = { succeeded: 0, failed: 0, revoked: 0, deadLettered: 0, requeued: 0, handedBack: 0 };
  /** Other work under way (dead-letters, requeues, revocations) that stop waits for. */
  private readonly side = new Set<Promise<unknown>>();

  constructor(private readonly options: CeleryWorkerOptions) {
    this.broker = new CeleryBroker(options.redis, options.queues, options.resultExpires);
    this.finisher = createFinisher(this.broker, options.log);
    this.metrics = options.metrics ?? createCeleryWorkerMetrics();
    this.maxEtaHeld = options.maxEtaHeld ?? DEFAULT_CELERY_MAX_ETA_HELD;
    if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) throw new Error(`'concurrency' (${options.concurrency}) must be an integer of at least 1`);
    if (!(options.visibilitySeconds > 0)) throw new Error(`'visibilitySeconds' (${options.visibilitySeconds}) must be greater than 0`);
  }

  /** Messages held now (running, waiting for their eta or a slot, or finishing). */
  get holding(): number {
    return this.held.size;
  }

  async run(): Promise<void> {
    const { options } = this;
    const { signal, log } = options;
    this.metrics.watch(() => this.held.size);
    const onAbort = () => {
      this.wake();
      // Ends a blocking wait at once.
      options.blocking?.disconnect();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const visibilityMs = options.visibilitySeconds * 1000;
    // Fresh well within the visibility timeout, however long it is.
    const touchMs = Math.min(visibilityMs / 4, 30_000);
    const restoreMs = Math.min(visibilityMs / 2, 60_000);
    let restoring: Promise<void> | undefined;
    const restore = () => (restoring ??= this.restoreTimedOut().finally(() => (restoring = undefined)));
    let touching: Promise<void> | undefined;
    const touch = () => (touching ??= this.touch().finally(() => (touching = undefined)));
    if (options.control) await listenForControl(options.control, options.redis, options.hostname, (r) => this.onRevoke(r), log);
    await restore();
    const restoreTimer = setInterval(restore, intervalMs(restoreMs));
    const touchTimer = setInterval(touch, intervalMs(touchMs));
    log.info('celery worker started', {
      queues: options.queues,
      concurrency: options.concurrency,
      tasks: options.tasks.names,
      visibilityTimeout: options.visibilitySeconds,
      unknownTask: options.unknownTask,
    });
    let stoppedAt = Date.now();
    try {
      await runClaimLanes(LANES, options.concurrency, MAX_CLAIM_BATCH, (limit) => this.claimLoop(limit));
      stoppedAt = Date.now();
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearInterval(restoreTimer);
      await restoring;
    }
    try {
      await this.stop(stoppedAt + options.graceMs);
    } finally {
      clearInterval(touchTimer);
      await touching;
    }
    log.info('celery worker stopped', { ...this.tally });
  }

  private async claimLoop(batchLimit: number): Promise<void> {
    const { options } = this;
    const { signal, redis } = options;
    while (!signal.aborted) {
      if (this.etaHeld >= this.maxEtaHeld) {
        await this.waitForWake();
        continue;
      }
      const want = Math.min(options.concurrency - this.running - this.due.length - this.reserved, batchLimit);
      if (want <= 0) {
        await this.waitForWake();
        // Let every task that finishes in this tick free its slot: one claim for all of them.
        await nextTick();
        continue;
      }
      const pause = this.pauseUntil - Date.now();
      if (pause > 0) {
        await sleep(pause, signal);
        continue;
      }
      if (redis.status !== 'ready') {
        // A claim queued on a broken connection could land later for nobody.
        await sleep(100, signal);
        continue;
      }
      this.reserved += want;
      let claimed;
      try {
        claimed = await this.broker.claim(want);
      } catch (error) {
        this.errors++;
        if (this.errors === 1 || this.errors % 10 === 0) options.log.error('claim failed; retrying', { error: errorMessage(error), failures: this.errors });
        await sleep(redisRetryDelay(this.errors), signal);
        continue;
      } finally {
        this.reserved -= want;
      }
      if (this.errors > 0) options.log.info('claiming works again', { failures: this.errors });
      this.errors = 0;
      if (claimed.deadLettered > 0) {
        this.metrics.deadLettered.inc(claimed.deadLettered);
        options.log.warn('messages that are not JSON objects dead-lettered', { messages: claimed.deadLettered, reason: 'malformed' });
      }
      let requeued = 0;
      let held = 0;
      for (const delivery of claimed.deliveries) {
        const outcome = this.accept(delivery);
        if (outcome === 'requeued') requeued++;
        else if (outcome === 'held') held++;
      }
      // Only tasks for other workers came: pause, or this worker would take them again at once.
      if (requeued > 0 && held === 0) this.pauseUntil = Date.now() + REQUEUE_PAUSE_MS;
      this.pump();
      if (claimed.deliveries.length + claimed.deadLettered < want && !signal.aborted) await this.waitForMessages();
    }
  }

  /** Sorts a claimed message: run now, hold for its eta, settle it without running (malformed, unknown, expired), or hand it back (unknown). */
  private accept(delivery: Delivery): 'held' | 'settled' | 'requeued' {
    const { log } = this.options;
    const decoded = decodeMessage(delivery.raw.toString('utf8'));
    if (!decoded.ok) {
      this.background(this.deadLetter(delivery, decoded.error, decoded.kind, decoded.taskId, decoded.taskName));
      return 'settled';
    }
    const task = decoded.task;
    const now = Date.now();
    // Celery looks the task up before anything else: an unknown task is NotRegistered even if expired.
    // In a fleet shared with Python workers, a canvas this worker cannot run (a chord) is theirs too.
    const known = this.options.tasks.get(task.name) !== undefined;
    const requeue = this.options.unknownTask === 'requeue';
    if (!known || (requeue && (!canvasSupported(task) || task.unsafeInteger !== undefined))) {
      this.background(this.unknown(delivery, task, !known ? 'name' : task.unsafeInteger !== undefined ? 'integer' : 'canvas'));
      return this.options.unknownTask === 'requeue' ? 'requeued' : 'settled';
    }
    if (task.expires !== undefined && task.expires <= now) {
      this.background(this.revoke(delivery, task, 'expired'));
      return 'settled';
    }
    // Run on rounded numbers it would give a wrong answer that looks right: fail it instead.
    if (task.unsafeInteger !== undefined) {
      this.background(this.refuse(delivery, task, integerTooLarge(task.unsafeInteger)));
      return 'settled';
    }
    if (this.revoked.has(task.id)) {
      this.background(this.revoke(delivery, task, 'revoked'));
      return 'settled';
    }
    const held: Held = { delivery, task, state: 'due', handedBack: false };
    this.held.set(delivery.tag, held);
    if (task.eta !== undefined && task.eta > now) {
      held.state = 'eta';
      this.etaHeld++;
      log.info('task received, waiting for its eta', { taskId: task.id, task: task.name, eta: new Date(task.eta).toISOString() });
      held.timer = setLongTimeout(() => this.etaReached(held), task.eta - now);
      return 'held';
    }
    this.due.push(held);
    return 'held';
  }

  private etaReached(held: Held): void {
    if (held.state !== 'eta') return;
    const wait = (held.task.eta ?? 0) - Date.now();
    if (wait > 0) {
      // The wall clock moved (eta is wall-clock time, timers are monotonic): wait the rest.
      held.timer = setLongTimeout(() => this.etaReached(held), wait);
      return;
    }
    held.timer = undefined;
    this.etaHeld--;
    if (held.task.expires !== undefined && held.task.expires <= Date.now()) {
      this.held.delete(held.delivery.tag);
      this.background(this.revoke(held.delivery, held.task, 'expired'));
      this.wake();
      return;
    }
    held.state = 'due';
    this.due.push(held);
    this.pump();
    this.wake();
  }

  /** Starts due tasks while slots are free. */
  private pump(): void {
    while (this.running < this.options.concurrency && this.due.length > 0) {
      const held = this.due.shift() as Held;
      void this.runTask(held);
    }
  }

  private async runTask(held: Held): Promise<void> {
    const { options, metrics } = this;
    const { task } = held;
    const definition = options.tasks.get(task.name) as Task;
    held.state = 'running';
    const abort = (held.abort = new AbortController());
    this.running++;
    const started = performance.now();
    let result: string;
    let state: 'SUCCESS' | 'FAILURE';
    let failure: unknown;
    let followUps: TaskMessage[] = [];
    // Results of tasks that would wait forever on a canvas this worker cannot run.
    let orphans: string[] = [];
    const running = this.invoke(definition, task, abort.signal);
    const limits = task.timeLimit ? withTimeLimits(running, task.timeLimit, abort) : undefined;
    try {
      const value = await (limits?.outcome ?? running);
      const next = task.embed ? successFollowUps(task, value) : undefined;
      result = successJson(meta(task), value, next?.children);
      state = result.startsWith('{"status": "SUCCESS"') ? 'SUCCESS' : 'FAILURE';
      if (state === 'SUCCESS' && next) followUps = next.messages;
    } catch (error) {
      failure = error;
      const exc = error instanceof UnsupportedCanvas ? error.exception : toCeleryException(error);
      result = failureJson(meta(task), exc, traceback(error, exc));
      state = 'FAILURE';
      if (error instanceof UnsupportedCanvas) orphans = error.waiting;
      else if (task.embed) followUps = failureFollowUps(task).messages;
    }
    limits?.clear();
    const seconds = (performance.now() - started) / 1000;
    const freeSlot = () => {
      this.running--;
      this.pump();
      this.wake();
    };
    // Past its hard limit a handler cannot be killed (one process runs them all): it keeps its slot until it returns.
    if (limits?.hardFired) void running.then(freeSlot, freeSlot).finally(() => this.taskDone());
    else freeSlot();
    if (held.handedBack) return;
    held.state = 'finishing';
    metrics.taskSeconds.observe({ task: task.name }, seconds);
    for (const id of orphans) {
      void this.finisher.write({ tag: '', taskId: id, result: failureJson({ taskId: id }, (failure as UnsupportedCanvas).exception, null) });
    }
    const landed = await this.finisher.write({ tag: held.delivery.tag, taskId: task.id, result: task.ignoreResult ? undefined : result, followUps });
    this.held.delete(held.delivery.tag);
    this.taskDone();
    if (!landed) return;
    metrics.tasks.inc({ task: task.name, state });
    this.tally[state === 'SUCCESS' ? 'succeeded' : 'failed']++;
    const fields = { taskId: task.id, task: task.name, seconds: Math.round(seconds * 1e6) / 1e6 };
    // At info, a line per task would be most of the log at thousands of tasks a second.
    if (state === 'SUCCESS') options.log.debug('task succeeded', fields);
    else options.log.warn('task failed', { ...fields, error: errorMessage(failure ?? 'result is not JSON serializable') });
  }

  /** Binds the arguments and runs the handler; rejects with whatever makes the task fail. */
  private async invoke(definition: Task, task: CeleryTask, signal: AbortSignal): Promise<unknown> {
    checkCanvas(task);
    const args = definition.bind(task.args, task.kwargs);
    return definition.definition.run(...args, new Context(task, this.options, signal));
  }

  private async deadLetter(delivery: Delivery, error: string, kind: 'content' | 'decode', taskId?: string, taskName?: string): Promise<void> {
    let result: { taskId: string; json: string } | undefined;
    if (taskId) {
      // kombu's own errors for a message it cannot take; a caller waiting on the id gets one instead of hanging.
      const exc = { exc_type: kind === 'content' ? 'ContentDisallowed' : 'DecodeError', exc_message: [error], exc_module: 'kombu.exceptions' };
      result = { taskId, json: failureJson({ taskId }, exc, null) };
    }
    await this.untilLanded('dead-letter', () => this.broker.deadLetter(delivery, error, result));
    this.metrics.deadLettered.inc();
    this.tally.deadLettered++;
    this.options.log.warn('malformed message dead-lettered', { tag: delivery.tag, queue: delivery.queue, taskId, task: taskName, error, reason: 'malformed' });
  }

  /** Stores FAILURE with `exc` and acknowledges, without running the task. */
  private async refuse(delivery: Delivery, task: CeleryTask, exc: CeleryException): Promise<void> {
    const json = failureJson(meta(task), exc, null);
    await this.untilLanded('refusal', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'FAILURE' });
    this.tally.failed++;
    this.options.log.warn('task not run', { taskId: task.id, task: task.name, error: exc.exc_message[0] });
  }

  private async revoke(delivery: Delivery, task: CeleryTask, reason: RevokeReason): Promise<void> {
    const json = failureJson(meta(task), taskRevoked(reason), null, 'REVOKED');
    await this.untilLanded('revoke', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'REVOKED' });
    this.tally.revoked++;
    const fields = { taskId: task.id, task: task.name, reason };
    if (reason === 'expired') this.options.log.warn('task expired; not run', { ...fields, expires: new Date(task.expires ?? 0).toISOString() });
    else this.options.log.warn(reason === 'terminated' ? 'task revoked while running; its outcome is dropped' : 'task revoked; not run', fields);
  }

  /** A revoke from Celery's remote control: remembered for messages to come; held tasks settle now. */
  private onRevoke({ ids, terminate }: Revoke): void {
    for (const id of ids) this.revoked.add(id);
    const wanted = new Set(ids);
    for (const h of [...this.held.values()]) {
      if (!wanted.has(h.task.id) || h.handedBack) continue;
      if (h.state === 'eta' || h.state === 'due') {
        h.timer?.clear();
        if (h.state === 'eta') this.etaHeld--;
        else this.due = this.due.filter((d) => d !== h);
        this.settleRevoked(h, 'revoked');
      } else if (h.state === 'running' && terminate) {
        // One process runs every task: stop it through its signal; its slot frees when it returns.
        h.abort?.abort(new Error('revoked with terminate'));
        this.settleRevoked(h, 'terminated');
      }
    }
    this.wake();
  }

  private settleRevoked(h: Held, reason: RevokeReason): void {
    h.handedBack = true;
    this.held.delete(h.delivery.tag);
    this.background(this.revoke(h.delivery, h.task, reason));
  }

  /** A task this worker does not run: its name is unknown, or (requeue only) its canvas is one for Python workers. */
  private async unknown(delivery: Delivery, task: CeleryTask, why: 'name' | 'canvas' | 'integer'): Promise<void> {
    const { log } = this.options;
    if (this.options.unknownTask === 'requeue') {
      await this.untilLanded('requeue', () => this.broker.requeue(delivery, task.priority));
      this.metrics.tasks.inc({ task: task.name, state: 'REQUEUED' });
      this.tally.requeued++;
      const what = { name: 'unknown task', canvas: 'task with a canvas this worker cannot run', integer: 'task with an integer beyond 2**53' }[why];
      log.info(`${what} handed back to the queue for other workers`, { taskId: task.id, task: task.name, queue: delivery.queue });
      return;
    }
    const json = failureJson(meta(task), notRegistered(task.name), null);
    await this.untilLanded('unknown task', () => this.broker.finish([{ tag: delivery.tag, taskId: task.id, result: json }]));
    this.metrics.tasks.inc({ task: task.name, state: 'FAILURE' });
    this.tally.failed++;
    log.warn('unknown task; stored FAILURE NotRegistered', { taskId: task.id, task: task.name, known: this.options.tasks.names });
  }

  /** Runs a Redis call until it lands (or the worker has stopped and its hand-off time is over). */
  private untilLanded<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    const giveUpAt = () => (this.options.signal.aborted ? this.handoffBy : Infinity);
    return untilLanded(what, call, giveUpAt, this.options.log, 'the message stays unacknowledged until the visibility timeout');
  }

  private handoffBy = Infinity;

  private background(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.options.log.error('unexpected failure', { error: errorMessage(error) }));
    this.side.add(tracked);
    void tracked.finally(() => this.side.delete(tracked));
  }

  /** Every claim lane waits here for a free slot or a stop. */
  private waitForWake(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private taskDone(): void {
    if (this.running === 0) this.idle?.();
  }

  /** All lists were empty at the last claim: wait until the first queue has a message, at most MAX_WAIT_MS. One wait for all lanes. */
  private waitForMessages(): Promise<void> {
    this.messageWait ??= this.blockOrPoll().finally(() => (this.messageWait = undefined));
    return this.messageWait;
  }

  private async blockOrPoll(): Promise<void> {
    const { options } = this;
    if (!options.blocking) return sleep(100, options.signal);
    try {
      await this.broker.waitForMessages(options.blocking, MAX_WAIT_MS);
    } catch (error) {
      if (options.signal.aborted) return;
      options.log.debug('waiting for messages failed', { error: errorMessage(error) });
      await sleep(redisRetryDelay(++this.errors), options.signal);
    }
  }

  private async touch(): Promise<void> {
    if (this.held.size === 0 || this.options.redis.status !== 'ready') return;
    try {
      await this.broker.touch([...this.held.keys()]);
    } catch (error) {
      this.options.log.warn('could not refresh held messages in unacked_index', { error: errorMessage(error), held: this.held.size });
    }
  }

  private async restoreTimedOut(): Promise<void> {
    if (this.options.redis.status !== 'ready') return;
    try {
      const { restored, unreadable } = (await this.broker.restoreTimedOut(this.options.visibilitySeconds, (tag) => this.held.has(tag))) ?? { restored: 0, unreadable: [] };
      if (unreadable.length > 0) {
        this.options.log.error(`timed-out entries of ${CeleryKeys.UNACKED} are not [message, exchange, routing_key] JSON; left in place`, { tags: unreadable });
      }
      if (restored) {
        this.metrics.restored.inc(restored);
        this.options.log.warn('restored unacknowledged messages past the visibility timeout', { restored, visibilityTimeout: this.options.visibilitySeconds });
      }
    } catch (error) {
      this.options.log.error('restoring timed-out messages failed', { error: errorMessage(error) });
    }
  }

  /**
   * Stop: eta tasks and tasks waiting for a slot go back at once; running tasks get until
   * `graceDeadline`; then the rest goes back too, and results under way get HANDOFF_MS to land.
   */
  private async stop(graceDeadline: number): Promise<void> {
    const { log } = this.options;
    this.handoffBy = graceDeadline + HANDOFF_MS;
    const waiting = [...this.held.values()].filter((h) => h.state === 'eta' || h.state === 'due');
    for (const h of waiting) h.timer?.clear();
    this.due = [];
    this.etaHeld = 0;
    if (waiting.length > 0) await this.handBack(waiting, 'tasks not started');
    if (this.running > 0) {
      log.info('finishing running tasks', { tasks: this.running, graceSeconds: Math.max(0, (graceDeadline - Date.now()) / 1000) });
      const timeout = new AbortController();
      await Promise.race([new Promise<void>((resolve) => (this.idle = resolve)), sleep(graceDeadline - Date.now(), timeout.signal)]);
      timeout.abort();
    }
    const unfinished = [...this.held.values()].filter((h) => h.state === 'running');
    if (unfinished.length > 0) {
      for (const h of unfinished) h.abort?.abort();
      await this.handBack(unfinished, 'grace period over: running tasks');
    }
    await Promise.all([this.finisher.close(this.handoffBy), ...this.side]);
  }

  private async handBack(list: Held[], what: string): Promise<void> {
    for (const h of list) {
      h.handedBack = true;
      this.held.delete(h.delivery.tag);
    }
    const tags = list.map((h) => h.delivery.tag);
    const result = await this.untilLanded('hand-back', () => this.broker.restoreTags(tags));
    this.tally.handedBack += result?.restored ?? 0;
    this.options.log.warn(`${what} handed back to their queues`, { tasks: list.length, handedBack: result?.restored ?? 0, taskIds: list.map((h) => h.task.id) });
  }
}

function meta(task: CeleryTask) {
  return { taskId: task.id, group: task.group, parentId: task.parentId };
}

/** The task's view of its run; the child logger is made only if the task asks for it. */
class Context implements TaskContext {
  private child?: Logger;

  constructor(
    private readonly task: CeleryTask,
    private readonly options: CeleryWorkerOptions,
    readonly signal: AbortSignal,
  ) {}

  get id(): string {
    return this.task.id;
  }
  get name(): string {
    return this.task.name;
  }
  get retries(): number {
    return this.task.retries;
  }
  get hostname(): string {
    return this.options.hostname;
  }
  get redis(): Redis {
    return this.options.redis;
  }
  get log(): Logger {
    return (this.child ??= this.options.log.child({ taskId: this.task.id, task: this.task.name }));
  }
}
