/**
 * kombu's Redis transport, as far as a worker needs it: atomic claims with ack bookkeeping,
 * acknowledgement with the result write, keeping held messages fresh, and the visibility-timeout
 * restore under `unacked_mutex`. Python workers on the same keys see exactly what kombu writes.
 */
import { isUtf8 } from 'buffer';
import { randomBytes, randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { CELERY_PRIORITY_SEPARATOR, CELERY_PRIORITY_STEPS, CeleryKeys, celeryPriorityList } from '../contract';
import { CLAIM_MESSAGES, DEAD_LETTER_MESSAGE, FINISH, RELEASE_LOCK, REQUEUE, RESTORE, TAKE_LOCK, TOUCH } from './scripts';

/** A message taken from a queue, held in `unacked` until it is acknowledged or restored. */
export interface Delivery {
  readonly tag: string;
  /** The message exactly as it was pushed, byte for byte (it need not be UTF-8). */
  readonly raw: Buffer;
  /** The queue it was taken from. */
  readonly queue: string;
}

export interface ClaimResult {
  readonly deliveries: Delivery[];
  /** Messages that were not JSON objects, moved to `<queue>:dead` by the claim itself. */
  readonly deadLettered: number;
}

/** One finished task: its ack, its result unless the task ignores results, and the tasks it sends on. */
export interface Finished {
  readonly tag: string;
  readonly taskId: string;
  /** Result JSON; undefined stores nothing. */
  readonly result?: string;
  /** Messages to LPUSH in the same step (chain steps, callbacks), each onto its list. */
  readonly followUps?: readonly { readonly list: string; readonly raw: string }[];
}

/** Finished tasks per FINISH call. */
export const MAX_FINISH_BATCH = 500;
/** kombu's `unacked_mutex_expire` (s). */
export const UNACKED_MUTEX_EXPIRE_SECONDS = 300;
/** Timed-out entries looked at per restore round (kombu takes 10 per round). */
export const RESTORE_BATCH = 100;

/** The kombu priority step a message priority (0..9) goes to: the largest step not above it. */
export function priorityStep(priority: unknown): number {
  const p = typeof priority === 'number' && Number.isFinite(priority) ? Math.max(0, Math.min(9, Math.trunc(priority))) : 0;
  let step = 0;
  for (const s of CELERY_PRIORITY_STEPS) if (s <= p) step = s;
  return step;
}

export class CeleryBroker {
  /** Round-robin order of the queues (positions in `queues`), as kombu's cycle rotates it. */
  private order: number[];
  /** Per queue position: its dead list and priority lists (KEYS of the claim). */
  private readonly queueKeys: string[][];
  private readonly tagPrefix = `${randomBytes(9).toString('base64url')}.`;
  private tagCounter = 0;

  constructor(
    readonly redis: Redis,
    readonly queues: readonly string[],
    /** Seconds a result lives (0: forever). */
    readonly resultExpires: number,
  ) {
    if (queues.length === 0) throw new Error('at least one queue is needed');
    this.order = queues.map((_, i) => i);
    this.queueKeys = queues.map((q) => [CeleryKeys.dead(q), ...CELERY_PRIORITY_STEPS.map((p) => celeryPriorityList(q, p))]);
  }

  /** Takes up to `count` messages, recording them in `unacked` / `unacked_index` in the same step. */
  async claim(count: number): Promise<ClaimResult> {
    const keys: string[] = [CeleryKeys.UNACKED, CeleryKeys.UNACKED_INDEX];
    for (const q of this.order) keys.push(...this.queueKeys[q]);
    const now = Date.now();
    // Tags for messages without one: unique per claim call, so several claims never collide.
    const prefix = `${this.tagPrefix}${++this.tagCounter}.`;
    // Buffers: a message is moved and stored as the bytes it is, whatever they are.
    const reply = (await CLAIM_MESSAGES.runBuffer(this.redis, keys, [count, (now / 1000).toFixed(6), prefix, now, ...this.order.map((q) => this.queues[q])])) as (
      Buffer | number
    )[];
    const positions = this.order;
    const deliveries: Delivery[] = [];
    for (let i = 2; i + 2 < reply.length; i += 3) {
      deliveries.push({ queue: this.queues[positions[Number(reply[i]) - 1]], raw: reply[i + 1] as Buffer, tag: String(reply[i + 2]) });
    }
    const order = String(reply[1]);
    if (order.includes(',')) this.order = order.split(',').map((p) => positions[Number(p) - 1]);
    return { deliveries, deadLettered: Number(reply[0]) };
  }

  /** Blocks until the first queue's list has a message (removing nothing) or `timeoutMs` passes. */
  async waitForMessages(blocking: Redis, timeoutMs: number): Promise<boolean> {
    const list = this.queues[this.order[0]];
    const seconds = Math.max(0.01, timeoutMs / 1000).toFixed(3);
    return (await blocking.blmoveBuffer(list, list, 'RIGHT', 'RIGHT', seconds)) !== null;
  }

  /** Stores results and acknowledges, in one script call. Returns how many tags were still held. */
  async finish(batch: readonly Finished[]): Promise<number> {
    if (batch.length === 0) return 0;
    const keys: string[] = [CeleryKeys.UNACKED, CeleryKeys.UNACKED_INDEX];
    const args: (string | number)[] = [this.resultExpires];
    for (const f of batch) {
      const followUps = f.followUps ?? [];
      keys.push(CeleryKeys.taskMeta(f.taskId), ...followUps.map((m) => m.list));
      args.push(f.tag, f.result ?? '', followUps.length, ...followUps.map((m) => m.raw));
    }
    return Number(await FINISH.run(this.redis, keys, args));
  }

  /**
   * Dead-letters a held message (a DeadLetter entry with reason malformed and `error`, its event
   * the message's bytes as they are), optionally storing a result for its task id.
   */
  async deadLetter(delivery: Delivery, error: string, result?: { taskId: string; json: string }): Promise<boolean> {
    const keys = [CeleryKeys.UNACKED, CeleryKeys.UNACKED_INDEX, CeleryKeys.dead(delivery.queue), CeleryKeys.taskMeta(result?.taskId ?? '')];
    return Number(await DEAD_LETTER_MESSAGE.run(this.redis, keys, [delivery.tag, delivery.raw, error, Date.now(), result?.json ?? '', this.resultExpires])) === 1;
  }

  /** Hands a held message back unchanged to the far end of its list at its priority. False if it was no longer held. */
  async requeue(delivery: Delivery, priority: number | undefined): Promise<boolean> {
    const list = celeryPriorityList(delivery.queue, priorityStep(priority));
    return Number(await REQUEUE.run(this.redis, [CeleryKeys.UNACKED, CeleryKeys.UNACKED_INDEX, list], [delivery.tag, delivery.raw])) === 1;
  }

  /** Marks held messages as taken now, so nobody restores them (ZADD XX: a tag restored meanwhile stays gone). */
  async touch(tags: readonly string[]): Promise<void> {
    const now = (Date.now() / 1000).toFixed(6);
    for (let i = 0; i < tags.length; i += 1000) await TOUCH.run(this.redis, [CeleryKeys.UNACKED_INDEX], [now, ...tags.slice(i, i + 1000)]);
  }

  /**
   * kombu's restore_visible: under `unacked_mutex` (taken like redis-py's Lock: SET NX PX with a
   * token, released by compare-and-delete), puts back every message taken more than
   * `visibilitySeconds` ago, except those in `skip` (ours, alive). Returns how many were restored
   * and the tags whose entries could not be read, or undefined when another worker holds the mutex.
   */
  async restoreTimedOut(visibilitySeconds: number, skip: (tag: string) => boolean = () => false): Promise<{ restored: number; unreadable: string[] } | undefined> {
    const token = randomUUID().replace(/-/g, '');
    const locked = await TAKE_LOCK.run(this.redis, [CeleryKeys.UNACKED_MUTEX], [token, UNACKED_MUTEX_EXPIRE_SECONDS * 1000]);
    if (Number(locked) !== 1) return undefined;
    try {
      const ceiling = Date.now() / 1000 - visibilitySeconds;
      let restored = 0;
      const unreadable: string[] = [];
      for (let offset = 0; ;) {
        const tags = await this.redis.zrangebyscore(CeleryKeys.UNACKED_INDEX, '-inf', ceiling.toFixed(6), 'LIMIT', offset, RESTORE_BATCH);
        const theirs = tags.filter((t) => !skip(t));
        const results = await this.restoreTags(theirs);
        restored += results.restored;
        unreadable.push(...results.unreadable);
        // Entries left in place (ours, unreadable, changed) shift the window; restored ones are gone.
        offset += tags.length - results.removed;
        if (tags.length < RESTORE_BATCH) return { restored, unreadable };
      }
    } finally {
      await RELEASE_LOCK.run(this.redis, [CeleryKeys.UNACKED_MUTEX], [token]).catch(() => undefined);
    }
  }

  /**
   * kombu's restore_by_tag for each tag: the message goes back to the list of each queue its
   * exchange and routing key lead to, marked redelivered, and leaves `unacked` / `unacked_index`.
   */
  async restoreTags(tags: readonly string[]): Promise<{ restored: number; removed: number; unreadable: string[] }> {
    let restored = 0;
    let removed = 0;
    const unreadable: string[] = [];
    if (tags.length === 0) return { restored, removed, unreadable };
    // Buffers: the compare-and-swap must see the stored bytes, not a UTF-8 decoding of them.
    const values = await this.redis.hmgetBuffer(CeleryKeys.UNACKED, ...tags);
    for (let i = 0; i < tags.length; i++) {
      const value = values[i];
      let message: Buffer | undefined;
      let targets: string[] = [];
      if (value !== null) {
        const parsed = parseUnacked(value);
        if (!parsed) {
          unreadable.push(tags[i]);
          continue;
        }
        targets = (await this.lookup(parsed.exchange, parsed.routingKey)).map((q) => celeryPriorityList(q, priorityStep(parsed.priority)));
        message = parsed.redelivered;
      }
      const outcome = Number(await RESTORE.run(this.redis, [CeleryKeys.UNACKED, CeleryKeys.UNACKED_INDEX, ...targets], [tags[i], value ?? '', message ?? '']));
      if (outcome >= 0) removed++;
      if (outcome === 1) restored++;
    }
    return { restored, removed, unreadable };
  }

  /** kombu's _lookup: the default exchange ('') routes to the queue named by the routing key; others through their binding set. */
  private async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (exchange === '') return [routingKey];
    const bindings = await this.redis.smembers(CeleryKeys.binding(exchange));
    const queues = new Set<string>();
    for (const binding of bindings) {
      // kombu's one separator (`sep`) joins binding fields as it joins queue and priority.
      const [key, , queue] = binding.split(CELERY_PRIORITY_SEPARATOR);
      if (key === routingKey && queue) queues.add(queue);
    }
    // No binding (an exchange whose bindings are gone): back to the queue of the same name as the key, rather than losing it.
    return queues.size > 0 ? [...queues] : [routingKey];
  }
}

interface Unacked {
  readonly exchange: string;
  readonly routingKey: string;
  readonly priority: unknown;
  /**
   * The message with `headers.redelivered` and `properties.delivery_info.redelivered` set, as
   * kombu restores it; a message that is not UTF-8 goes back as the bytes it was, unmarked
   * (decoding and encoding it again would replace those bytes).
   */
  readonly redelivered: Buffer;
}

function parseUnacked(value: Buffer): Unacked | undefined {
  if (!isUtf8(value)) return parseUnackedBytes(value);
  try {
    const entry = JSON.parse(value.toString('utf8')) as unknown;
    if (!Array.isArray(entry) || entry.length < 3) return undefined;
    const [message, exchange, routingKey] = entry as [Record<string, unknown>, unknown, unknown];
    if (typeof message !== 'object' || message === null || typeof exchange !== 'string' || typeof routingKey !== 'string') return undefined;
    const headers = message.headers as Record<string, unknown> | undefined;
    const properties = message.properties as Record<string, unknown> | undefined;
    const info = properties?.delivery_info as Record<string, unknown> | undefined;
    // kombu sets both, or neither when one of them is missing.
    if (headers && typeof headers === 'object' && info && typeof info === 'object') {
      headers.redelivered = true;
      info.redelivered = true;
    }
    return { exchange, routingKey, priority: properties?.priority, redelivered: Buffer.from(JSON.stringify(message)) };
  } catch {
    return undefined;
  }
}

/** `[message, exchange, routing_key]` whose message is not UTF-8: the message's own bytes, the rest read as text. */
function parseUnackedBytes(value: Buffer): Unacked | undefined {
  const start = value.indexOf('{');
  if (start < 0 || value.subarray(0, start).toString('latin1').trim() !== '[') return undefined;
  const end = objectEnd(value, start);
  if (end < 0) return undefined;
  try {
    const rest = JSON.parse(`[0${value.subarray(end).toString('utf8')}`) as unknown[];
    const [, exchange, routingKey] = rest;
    if (rest.length < 3 || typeof exchange !== 'string' || typeof routingKey !== 'string') return undefined;
    const message = value.subarray(start, end);
    // The replacement characters sit in strings only: numbers such as the priority read as they are.
    const properties = (JSON.parse(message.toString('utf8')) as { properties?: { priority?: unknown } }).properties;
    return { exchange, routingKey, priority: properties?.priority, redelivered: message };
  } catch {
    return undefined;
  }
}

/** The end (exclusive) of the JSON object or array starting at `start`, or -1; works on bytes, so any bytes may sit in its strings. */
function objectEnd(bytes: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22 /* " */) {
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c /* \ */) i++;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
    } else if ((c === 0x7d /* } */ || c === 0x5d) /* ] */ && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}
