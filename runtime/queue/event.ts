/**
 * The event format: what the publisher writes and what the consumer accepts.
 *
 * Accepted: a JSON object whose `wait` is a finite number >= 0; `id`, when present, a non-empty
 * string; `enqueuedAt`, when present, a finite number (ms since the epoch). Other fields are kept
 * and passed to the handler. The original demo's bare seed `{"wait": 17}` has no id: the
 * consumer derives `seed-<claim token>`, unique per delivery, so identical seeds are each
 * handled and told apart in logs (a redelivered seed gets a new id).
 */
import { randomUUID } from 'crypto';
import type { QueueEvent } from '../contract';

/** Prefix of the id derived for an event published without one. */
export const SEED_ID_PREFIX = 'seed-';

export type ParseResult = { readonly ok: true; readonly event: QueueEvent } | { readonly ok: false; /** What is wrong, for the dead-letter entry. */ readonly error: string };

/** Parses a raw event; `token` (the claim token) names an event that has no id. Never throws. */
export function parseEvent(raw: string, token: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `not a JSON object: got ${describe(value)}` };
  }
  const fields = value as Record<string, unknown>;
  const problems: string[] = [];

  const wait = fields.wait;
  if (!('wait' in fields)) problems.push('"wait" is missing');
  else if (typeof wait !== 'number' || !Number.isFinite(wait)) problems.push(`"wait" must be a finite number, got ${describe(wait)}`);
  else if (wait < 0) problems.push(`"wait" must be >= 0, got ${wait}`);

  if ('id' in fields && (typeof fields.id !== 'string' || fields.id === '')) {
    problems.push(`"id" must be a non-empty string, got ${describe(fields.id)}`);
  }
  if ('enqueuedAt' in fields && (typeof fields.enqueuedAt !== 'number' || !Number.isFinite(fields.enqueuedAt))) {
    problems.push(`"enqueuedAt" must be a number (ms since the epoch), got ${describe(fields.enqueuedAt)}`);
  }
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };

  const id = typeof fields.id === 'string' ? fields.id : `${SEED_ID_PREFIX}${token}`;
  return { ok: true, event: { ...fields, id, wait: wait as number } };
}

/** A new event as the publisher writes it, with `wait` a random integer in [waitMin, waitMax]. */
export function createEvent(waitMin: number, waitMax: number, now: number = Date.now()): QueueEvent {
  return { id: randomUUID(), enqueuedAt: now, wait: randomWait(waitMin, waitMax) };
}

/** `JSON.stringify(createEvent(...))`, written directly (a publisher makes hundreds of thousands a second). */
export function createEventJson(waitMin: number, waitMax: number, now: number = Date.now()): string {
  return `{"id":"${randomUUID()}","enqueuedAt":${now},"wait":${randomWait(waitMin, waitMax)}}`;
}

/** The demo's sleep: uniform, nothing secret about it. */
function randomWait(waitMin: number, waitMax: number): number {
  return waitMin + Math.floor(Math.random() * (waitMax - waitMin + 1));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
