/**
 * A Celery protocol 2 producer: messages exactly as Python's `apply_async` pushes them through
 * kombu's Redis transport (same envelope, headers, properties and key order), LPUSHed onto the
 * queue's list at the message's priority step, so Python workers and ours execute them alike.
 * Optionally waits for each result as Python's AsyncResult.get() does: subscribe to the result's
 * channel first, then GET, then wait for the PUBLISH.
 */
import { randomUUID } from 'crypto';
import { hostname } from 'os';
import type Redis from 'ioredis';
import { celeryPriorityList, CeleryKeys, DEFAULT_CELERY_QUEUE } from '../contract';
import { LongTimer, setLongTimeout } from '../sleep';
import { priorityStep } from './broker';
import { pushOrQueueFull } from '../redis/queue-full';

export interface TaskMessageOptions {
  readonly task: string;
  /** @default [] */
  readonly args?: readonly unknown[];
  /** @default {} */
  readonly kwargs?: Record<string, unknown>;
  /** @default 'celery' */
  readonly queue?: string;
  /** @default - a new uuid4 */
  readonly id?: string;
  /** Run no earlier than this (ms since the epoch). */
  readonly eta?: number;
  /** Do not run after this (ms since the epoch). */
  readonly expires?: number;
  /** kombu priority 0..9 (0 is served first). @default 0 */
  readonly priority?: number;
  /** @default false */
  readonly ignoreResult?: boolean;
  /** The reply_to of the sending "app" (Celery's oid). @default - a new uuid */
  readonly replyTo?: string;
  /** The task that sent this one (a chain step's predecessor). */
  readonly parentId?: string;
  /** The first task of the workflow. @default - the task's own id */
  readonly rootId?: string;
  /** The group this task belongs to. */
  readonly group?: string;
  /** Celery's time_limit / soft_time_limit, seconds. */
  readonly timeLimit?: { readonly hard?: number; readonly soft?: number };
  /** Signatures to run after it: callbacks (link), errbacks (link_error), the rest of a chain. */
  readonly embed?: { readonly callbacks?: unknown; readonly errbacks?: unknown; readonly chain?: unknown; readonly chord?: unknown };
}

export interface TaskMessage {
  readonly id: string;
  /** The Redis list it goes to (the queue at its priority step). */
  readonly list: string;
  /** The JSON envelope to LPUSH. */
  readonly raw: string;
}

const ORIGIN = `gen${process.pid}@${hostname()}`;

/** The envelope of `apply_async(args, kwargs, ...)` as Celery 5.2 + kombu 5.2 write it (Python's JSON separators). */
export function buildTaskMessage(options: TaskMessageOptions): TaskMessage {
  const id = options.id ?? randomUUID();
  const args = options.args ?? [];
  const kwargs = options.kwargs ?? {};
  const queue = options.queue ?? DEFAULT_CELERY_QUEUE;
  const priority = options.priority ?? 0;
  if (!(Number.isInteger(priority) && priority >= 0 && priority <= 9)) throw new Error(`'priority' (${priority}) must be an integer from 0 to 9`);
  const embed = {
    callbacks: options.embed?.callbacks ?? null,
    errbacks: options.embed?.errbacks ?? null,
    chain: options.embed?.chain ?? null,
    chord: options.embed?.chord ?? null,
  };
  const body = Buffer.from(pyJson([args, kwargs, embed])).toString('base64');
  const headers = {
    lang: 'py',
    task: options.task,
    id,
    shadow: null,
    eta: options.eta === undefined ? null : isoUtc(options.eta),
    expires: options.expires === undefined ? null : isoUtc(options.expires),
    group: options.group ?? null,
    group_index: null,
    retries: 0,
    timelimit: [options.timeLimit?.hard ?? null, options.timeLimit?.soft ?? null],
    root_id: options.rootId ?? id,
    parent_id: options.parentId ?? null,
    argsrepr: pyRepr(args, '(', ')'),
    kwargsrepr: pyRepr(kwargs),
    origin: ORIGIN,
    ignore_result: options.ignoreResult ?? false,
  };
  const properties: Record<string, unknown> = {
    correlation_id: id,
    reply_to: options.replyTo ?? randomUUID(),
    delivery_mode: 2,
  };
  // Celery passes expires on to kombu as the AMQP expiration (ms, a string).
  if (options.expires !== undefined) properties.expiration = String(Math.max(0, Math.round(options.expires - Date.now())));
  properties.delivery_info = { exchange: '', routing_key: queue };
  properties.priority = priority;
  properties.body_encoding = 'base64';
  properties.delivery_tag = randomUUID();
  const raw = pyJson({ body, 'content-encoding': 'utf-8', 'content-type': 'application/json', headers, properties });
  return { id, list: celeryPriorityList(queue, priorityStep(priority)), raw };
}

/** LPUSHes a task message, as kombu's Redis Channel._put does; {@link QueueFullError} when Redis is at `maxmemory`. */
export async function sendTaskMessage(redis: Redis, message: TaskMessage): Promise<void> {
  await pushOrQueueFull(message.list, 1, () => redis.lpush(message.list, message.raw));
}

/**
 * Waits for a task's result like AsyncResult.get(): subscribe first, then GET (a result stored
 * before the subscription), then the PUBLISH. `subscriber` is a connection of its own (it enters
 * subscribe mode). Resolves the stored JSON (parsed), or undefined on timeout / abort.
 */
export async function waitForResult(redis: Redis, subscriber: Redis, taskId: string, timeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  const channel = CeleryKeys.taskMeta(taskId);
  let onMessage: ((ch: string, message: string) => void) | undefined;
  let timer: LongTimer | undefined;
  let onAbort: (() => void) | undefined;
  const published = new Promise<string | undefined>((resolve) => {
    onMessage = (ch, message) => {
      if (ch === channel && isReady(message)) resolve(message);
    };
    subscriber.on('message', onMessage);
    timer = setLongTimeout(() => resolve(undefined), timeoutMs);
    onAbort = () => resolve(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await subscriber.subscribe(channel);
    const stored = await redis.get(channel);
    const json = stored !== null && isReady(stored) ? stored : await published;
    return json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>);
  } finally {
    timer?.clear();
    if (onMessage) subscriber.removeListener('message', onMessage);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await subscriber.unsubscribe(channel).catch(() => undefined);
  }
}

/** Celery's READY_STATES: the result is final. */
function isReady(json: string): boolean {
  try {
    const status = (JSON.parse(json) as { status?: unknown }).status;
    return status === 'SUCCESS' || status === 'FAILURE' || status === 'REVOKED';
  } catch {
    return false;
  }
}

/** A naive-free ISO time as Celery writes eta / expires: `2024-01-02T03:04:05.123000+00:00`. */
export function isoUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
}

/** JSON with Python's json.dumps separators (', ' and ': '), so the bytes look like Python's. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Python's repr of args (a tuple) or kwargs (a dict), for the argsrepr / kwargsrepr headers. */
function pyRepr(value: unknown, open?: string, close?: string): string {
  if (Array.isArray(value) && open !== undefined) {
    const items = value.map((v) => pyRepr(v));
    return `${open}${items.join(', ')}${items.length === 1 ? ',' : ''}${close}`;
  }
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Perlman', 'Torvalds'];
const STREETS = ['Main St', 'Elm St', 'Oak Ave', 'Pine Rd', 'Maple Ln', 'Cedar Ct'];
const CITIES = ['Springfield', 'Riverton', 'Lakeside', 'Hillview', 'Fairmont'];

/** A fake registration for the demo task (name, email, address), like the original demo's producer. */
export function fakeRegistration(random: () => number = Math.random): { name: string; email: string; address: string } {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const first = pick(FIRST);
  const last = pick(LAST);
  const n = Math.floor(random() * 10_000);
  return {
    name: `${first} ${last}`,
    email: `${first}.${last}${n}@example.com`.toLowerCase(),
    address: `${1 + Math.floor(random() * 999)} ${pick(STREETS)}, ${pick(CITIES)}`,
  };
}
