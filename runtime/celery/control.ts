/**
 * Celery's remote control, as far as our worker takes part: `revoke`. Python's
 * `AsyncResult.revoke()` / `app.control.revoke()` PUBLISHes a kombu envelope on the pidbox fanout
 * channel `/<db>.celery.pidbox`; its base64 JSON body is
 * `{"method": "revoke", "arguments": {"task_id": id | [ids], "terminate": bool, ...}, "destination": null | [names]}`.
 * We listen as a Python worker does (PSUBSCRIBE on that channel) and remember revoked ids like
 * Celery's worker state (at most REVOKES_MAX, each for REVOKE_EXPIRES_MS). `ping` is answered
 * (`{"<hostname>": {"ok": "pong"}}` LPUSHed to the caller's reply queue, found through the binding
 * of its `reply_to`), so `celery inspect ping` / `app.control.ping()` list our workers. Other
 * commands (inspect active, stats, ...) are not answered.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { CELERY_PRIORITY_SEPARATOR, CeleryKeys } from '../contract';
import { errorMessage, Logger } from '../log';

/** Celery's worker state limits for revoked ids. */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_MS = 10_800_000;

/** The pidbox fanout channel of a Redis database, as kombu names it. */
export function pidboxChannel(db: number): string {
  return `/${db}.celery.pidbox`;
}

export interface Revoke {
  readonly method: 'revoke';
  readonly ids: string[];
  /** Stop the task if it runs (Celery kills the process; we abort its signal and drop its outcome). */
  readonly terminate: boolean;
}

export interface Ping {
  readonly method: 'ping';
  /** Matches the reply to the request (the reply's `headers.ticket`). */
  readonly ticket: string;
  /** Where the caller waits: a direct exchange and the routing key of its reply queue. */
  readonly replyTo: { readonly exchange: string; readonly routingKey: string };
}

export type ControlRequest = Revoke | Ping;

interface ControlBody {
  method?: unknown;
  arguments?: { task_id?: unknown; terminate?: unknown };
  destination?: unknown;
  ticket?: unknown;
  reply_to?: { exchange?: unknown; routing_key?: unknown };
}

/** The request a pidbox message makes of the worker named `hostname`, if it is one we answer. */
export function parseControl(raw: string, hostname: string): ControlRequest | undefined {
  try {
    const envelope = JSON.parse(raw) as { body?: unknown; properties?: { body_encoding?: unknown } };
    if (typeof envelope.body !== 'string') return undefined;
    const text = envelope.properties?.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : envelope.body;
    const body = JSON.parse(text) as ControlBody;
    if (Array.isArray(body.destination) && !body.destination.includes(hostname)) return undefined;
    if (body.method === 'revoke') {
      const given = body.arguments?.task_id;
      const ids = (Array.isArray(given) ? given : [given]).filter((id): id is string => typeof id === 'string' && id !== '');
      return ids.length > 0 ? { method: 'revoke', ids, terminate: body.arguments?.terminate === true } : undefined;
    }
    if (body.method === 'ping') {
      const { ticket, reply_to: replyTo } = body;
      if (typeof ticket !== 'string' || typeof replyTo?.exchange !== 'string' || typeof replyTo.routing_key !== 'string') return undefined;
      return { method: 'ping', ticket, replyTo: { exchange: replyTo.exchange, routingKey: replyTo.routing_key } };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** The reply kombu's Mailbox publishes for a ping: `{hostname: {"ok": "pong"}}` with the request's ticket. */
export function pongMessage(ping: Ping, hostname: string): string {
  return JSON.stringify({
    body: Buffer.from(JSON.stringify({ [hostname]: { ok: 'pong' } })).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { ticket: ping.ticket, clock: 1 },
    properties: {
      delivery_mode: 1,
      delivery_info: { exchange: ping.replyTo.exchange, routing_key: ping.replyTo.routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

/** Answers a ping: the reply goes to each queue the reply exchange binds the routing key to (kombu's direct exchange). */
export async function answerPing(redis: Redis, ping: Ping, hostname: string): Promise<number> {
  const bindings = await redis.smembers(CeleryKeys.binding(ping.replyTo.exchange));
  const queues = bindings
    .map((b) => b.split(CELERY_PRIORITY_SEPARATOR))
    .filter(([key, , queue]) => key === ping.replyTo.routingKey && queue)
    .map(([, , queue]) => queue);
  const message = pongMessage(ping, hostname);
  for (const queue of queues) await redis.lpush(queue, message);
  return queues.length;
}

/** Revoked task ids, oldest dropped first beyond REVOKES_MAX, forgotten after REVOKE_EXPIRES_MS. */
export class RevokedIds {
  private readonly ids = new Map<string, number>();

  add(id: string, now = Date.now()): void {
    this.ids.delete(id);
    this.ids.set(id, now + REVOKE_EXPIRES_MS);
    if (this.ids.size > REVOKES_MAX) this.ids.delete(this.ids.keys().next().value as string);
  }

  has(id: string, now = Date.now()): boolean {
    if (this.ids.size === 0) return false;
    const until = this.ids.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.ids.delete(id);
    return false;
  }
}

/**
 * Listens on the pidbox channel with `subscriber` (a connection of its own; it enters subscribe
 * mode): calls `onRevoke` for each revoke meant for `hostname`, answers pings through `redis`.
 * Resolves once subscribed.
 */
export async function listenForControl(subscriber: Redis, redis: Redis, hostname: string, onRevoke: (revoke: Revoke) => void, log: Logger): Promise<void> {
  const channel = pidboxChannel(redis.options.db ?? 0);
  subscriber.on('pmessage', (_pattern: string, ch: string, message: string) => {
    if (ch !== channel) return;
    const request = parseControl(message, hostname);
    if (!request) return;
    try {
      if (request.method === 'revoke') return onRevoke(request);
      answerPing(redis, request, hostname).then(
        (queues) => log.debug('answered ping', { replyQueues: queues }),
        (error: unknown) => log.warn('could not answer ping', { error: errorMessage(error) }),
      );
    } catch (error) {
      log.error('handling a control request failed', { method: request.method, error: errorMessage(error) });
    }
  });
  await subscriber.psubscribe(channel);
}
