/**
 * Celery's remote control, as far as our worker takes part: `revoke`. Python's
 * `AsyncResult.revoke()` / `app.control.revoke()` PUBLISHes a kombu envelope on the pidbox fanout
 * channel `/<db>.celery.pidbox`; its base64 JSON body is
 * `{"method": "revoke", "arguments": {"task_id": id | [ids], "terminate": bool, ...}, "destination": null | [names]}`.
 * We listen as a Python worker does (PSUBSCRIBE on that channel) and remember revoked ids like
 * Celery's worker state (at most REVOKES_MAX, each for REVOKE_EXPIRES_MS). Other commands
 * (inspect, ping, ...) are not answered.
 */
import type Redis from 'ioredis';
import { errorMessage, Logger } from '../log';

/** Celery's worker state limits for revoked ids. */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_MS = 10_800_000;

/** The pidbox fanout channel of a Redis database, as kombu names it. */
export function pidboxChannel(db: number): string {
  return `/${db}.celery.pidbox`;
}

export interface Revoke {
  readonly ids: string[];
  /** Stop the task if it runs (Celery kills the process; we abort its signal and drop its outcome). */
  readonly terminate: boolean;
}

/** The revoke a pidbox message asks of the worker named `hostname`, if any. */
export function parseControl(raw: string, hostname: string): Revoke | undefined {
  try {
    const envelope = JSON.parse(raw) as { body?: unknown; properties?: { body_encoding?: unknown } };
    if (typeof envelope.body !== 'string') return undefined;
    const text = envelope.properties?.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : envelope.body;
    const body = JSON.parse(text) as { method?: unknown; arguments?: { task_id?: unknown; terminate?: unknown }; destination?: unknown };
    if (body.method !== 'revoke') return undefined;
    if (Array.isArray(body.destination) && !body.destination.includes(hostname)) return undefined;
    const given = body.arguments?.task_id;
    const ids = (Array.isArray(given) ? given : [given]).filter((id): id is string => typeof id === 'string' && id !== '');
    return ids.length > 0 ? { ids, terminate: body.arguments?.terminate === true } : undefined;
  } catch {
    return undefined;
  }
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
 * mode) and calls `onRevoke` for each revoke meant for `hostname`. Resolves once subscribed.
 */
export async function listenForControl(subscriber: Redis, db: number, hostname: string, onRevoke: (revoke: Revoke) => void, log: Logger): Promise<void> {
  const channel = pidboxChannel(db);
  subscriber.on('pmessage', (_pattern: string, ch: string, message: string) => {
    if (ch !== channel) return;
    const revoke = parseControl(message, hostname);
    if (!revoke) return;
    try {
      onRevoke(revoke);
    } catch (error) {
      log.error('handling a revoke failed', { error: errorMessage(error) });
    }
  });
  await subscriber.psubscribe(channel);
}
