/** The queue's vocabulary: its Redis keys, the event format and the dead-letter entries. */

/** The demo's list. */
export const DEFAULT_LIST_NAME = 'events';

/**
 * Redis keys of one queue. The ready list is the bare list name, so any producer that LPUSHes
 * (the original demo, redis-cli) feeds it and KEDA's `redis` trigger counts it with LLEN.
 */
export function queueKeys(list: string) {
  return {
    /** Events waiting to be taken: LPUSH in, RPOP out (FIFO). */
    ready: list,
    /** Leased events: zset of claim token -> lease deadline (ms). ZCARD counts everything in flight. */
    inflight: `${list}:inflight`,
    /** The raw event held under each claim token. */
    inflightEvents: `${list}:inflight:events`,
    /** Events waiting for a retry: zset of retry token -> due time (ms). ZCARD counts them. */
    delayed: `${list}:delayed`,
    /** The raw event held under each retry token. */
    delayedEvents: `${list}:delayed:events`,
    /**
     * Per-event counters, field = sha1 of the raw event (identical raw events share one):
     * `deliveries` counts claims (crash redeliveries included), `failures` handler failures.
     * Both fields go when the event is acknowledged or dead-lettered.
     * A handled failure or a hand-back at stop takes its delivery back, so `deliveries` counts the
     * deliveries whose consumer died, plus the one under way. Beside each field of `failures`,
     * `<sha1>:first` is the time of the first failure (ms).
     */
    deliveries: `${list}:deliveries`,
    failures: `${list}:failures`,
    /** Dead-letter list of {@link DeadLetter} JSON entries. */
    dead: `${list}:dead`,
  };
}

/**
 * The hash tag of a list name (Redis Cluster's rule: the text inside the first `{...}`, when not
 * empty), or undefined. Every key of {@link queueKeys} starts with the list name, so a list with a
 * tag keeps all of its queue's keys in one slot, as the queue's scripts need on a cluster.
 */
export function hashTag(list: string): string | undefined {
  const open = list.indexOf('{');
  if (open < 0) return undefined;
  const close = list.indexOf('}', open + 1);
  return close > open + 1 ? list.slice(open + 1, close) : undefined;
}

/** An event as the publisher writes it. The seed demo's bare `{"wait": n}` is accepted too. */
export interface QueueEvent {
  /** Unique id; derived from the content and claim for a bare seed event. */
  readonly id: string;
  /** Enqueue time, ms since the epoch. */
  readonly enqueuedAt?: number;
  /** Seconds the demo consumer sleeps. */
  readonly wait: number;
  readonly [extra: string]: unknown;
}

/** The parts of a queue, as `queue stats` prints them and the depth gauge labels them. */
export const QUEUE_STATES = ['ready', 'inflight', 'delayed', 'dead'] as const;
/** One of {@link QUEUE_STATES}. */
export type QueueState = (typeof QUEUE_STATES)[number];

/** Why an event ended in the dead-letter list. */
export const DEAD_LETTER_REASONS = ['malformed', 'handler-failed', 'max-deliveries'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** A dead-letter entry: `event` is the original string, byte for byte, so it can be restored exactly. */
export interface DeadLetter {
  readonly event: string;
  readonly reason: DeadLetterReason;
  /** The last error: the handler's message, the parse problem, or why deliveries ran out. */
  readonly error: string;
  /** Handler runs that failed (1 for a malformed event; 0 for max-deliveries without a failure). */
  readonly attempts: number;
  /** Times the event was handed to a consumer: failed attempts plus deliveries whose consumer died. Absent in entries of 0.1.0. */
  readonly deliveries?: number;
  /** ms since the epoch of the first failure (equal to failedAt when there was one). Absent in entries of 0.1.0. */
  readonly firstFailedAt?: number;
  /** ms since the epoch. */
  readonly failedAt: number;
}
