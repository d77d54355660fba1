/**
 * The vocabulary shared by the constructs (which decide names) and the runtime programs (which
 * read them): environment variables, ports, paths, Redis key layout, event formats.
 *
 * Dependency-free on purpose: `constructs/` imports this file and nothing else of `runtime/`,
 * so a user's cdk8s app never pulls in ioredis. Its one import is the version module generated from
 * package.json (scripts/write-version.ts), itself free of imports.
 */

export { VERSION } from './version';
import { VERSION } from './version';

/** Where the runtime image is published by default. */
export const RUNTIME_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-redis-keda/redis-keda';

/** The runtime image the constructs reference unless told otherwise. */
export const DEFAULT_RUNTIME_IMAGE = `${RUNTIME_IMAGE_REPOSITORY}:${VERSION}`;

/** cdk8s context key that overrides the runtime image for a whole app (`cdk8s synth` / `App({ context })`). */
export const RUNTIME_IMAGE_CONTEXT_KEY = 'redis-keda:image';

/** Environment variable that overrides the runtime image for a whole app at synth. */
export const RUNTIME_IMAGE_ENV = 'REDIS_KEDA_IMAGE';

/** The numeric non-root user and group the runtime image runs as (the node image's `node` user). */
export const RUNTIME_UID = 1000;
export const RUNTIME_GID = 1000;

/** Names of the environment variables the runtime reads; each CLI option falls back to one of these. */
export const Env = {
  /** A full `redis://` or `rediss://` URL; wins over the host / port variables. */
  REDIS_URL: 'REDIS_URL',
  REDIS_HOST: 'REDIS_HOST',
  REDIS_PORT: 'REDIS_PORT',
  REDIS_USERNAME: 'REDIS_USERNAME',
  REDIS_PASSWORD: 'REDIS_PASSWORD',
  /** `true` to connect with TLS. */
  REDIS_TLS: 'REDIS_TLS',
  /** Path of a PEM CA bundle to verify the server with (TLS only). */
  REDIS_TLS_CA_FILE: 'REDIS_TLS_CA_FILE',
  /** A PEM CA bundle itself (e.g. from a Secret key); implies TLS. REDIS_TLS_CA_FILE wins when both are set. */
  REDIS_TLS_CA: 'REDIS_TLS_CA',
  REDIS_DB: 'REDIS_DB',
  /** Seconds a command waits for Redis at start before it gives up (exit 1). */
  REDIS_CONNECT_TIMEOUT: 'REDIS_CONNECT_TIMEOUT',
  LIST_NAME: 'LIST_NAME',
  // publish
  PUBLISH_COUNT: 'PUBLISH_COUNT',
  PUBLISH_FOREVER: 'PUBLISH_FOREVER',
  PUBLISH_BATCH: 'PUBLISH_BATCH',
  /** Seconds between batches. */
  PUBLISH_INTERVAL: 'PUBLISH_INTERVAL',
  WAIT_MIN: 'WAIT_MIN',
  WAIT_MAX: 'WAIT_MAX',
  // consume
  /** `true` for Job mode: take one event, handle it, exit. */
  CONSUME_ONCE: 'CONSUME_ONCE',
  /** Events a loop-mode consumer handles at the same time. */
  CONSUME_CONCURRENCY: 'CONSUME_CONCURRENCY',
  /** Lease length in seconds; the consumer renews it while it works. */
  LEASE_SECONDS: 'LEASE_SECONDS',
  SLEEP_SCALE: 'SLEEP_SCALE',
  HANDLER: 'HANDLER',
  /** File the Job-mode consumer writes once it holds its event (the readiness signal). */
  READY_FILE: 'READY_FILE',
  /** Handler failures before an event is dead-lettered (retries back off exponentially). */
  MAX_ATTEMPTS: 'MAX_ATTEMPTS',
  /** Deliveries (claims, including redeliveries after crashed consumers) before an event is dead-lettered. */
  MAX_DELIVERIES: 'MAX_DELIVERIES',
  /** First retry delay in seconds; doubles per attempt up to BACKOFF_MAX_SECONDS. */
  BACKOFF_SECONDS: 'BACKOFF_SECONDS',
  BACKOFF_MAX_SECONDS: 'BACKOFF_MAX_SECONDS',
  /** Seconds a consumer keeps working on events in hand after SIGTERM before handing them back. */
  GRACE_SECONDS: 'GRACE_SECONDS',
  // celery-worker
  /** Comma-separated Celery queues (Redis lists) to consume, e.g. `celery`. */
  CELERY_QUEUES: 'CELERY_QUEUES',
  /** Tasks run at the same time by one worker process. */
  CELERY_CONCURRENCY: 'CELERY_CONCURRENCY',
  /** Path of a user module registering more task handlers (`--tasks`). */
  CELERY_TASKS: 'CELERY_TASKS',
  /** What to do with a task no handler knows: `fail` (store FAILURE) or `requeue` (for a mixed fleet). */
  CELERY_UNKNOWN_TASK: 'CELERY_UNKNOWN_TASK',
  /** Seconds after which an unacknowledged task is restored to its queue (kombu's `visibility_timeout`). */
  CELERY_VISIBILITY_TIMEOUT: 'CELERY_VISIBILITY_TIMEOUT',
  /** Seconds a stored result lives (Celery's `result_expires`). */
  CELERY_RESULT_EXPIRES: 'CELERY_RESULT_EXPIRES',
  /** The worker's name in results and logs (Celery's `hostname`, e.g. `redis-keda@<pod>`). */
  CELERY_HOSTNAME: 'CELERY_HOSTNAME',
  // celery-send
  /** Queue (Redis list) celery-send pushes to. */
  CELERY_QUEUE: 'CELERY_QUEUE',
  /** Task name celery-send sends. */
  CELERY_TASK: 'CELERY_TASK',
  /** Seconds between tasks sent by `celery-send --forever`. */
  CELERY_SEND_INTERVAL: 'CELERY_SEND_INTERVAL',
  /** Tasks celery-send sends (unless forever). */
  CELERY_SEND_COUNT: 'CELERY_SEND_COUNT',
  /** `true`: celery-send sends until stopped. */
  CELERY_SEND_FOREVER: 'CELERY_SEND_FOREVER',
  /** Positional arguments, a JSON array. */
  CELERY_ARGS: 'CELERY_ARGS',
  /** Keyword arguments, a JSON object. */
  CELERY_KWARGS: 'CELERY_KWARGS',
  /** Seconds from sending to the task's eta. */
  CELERY_COUNTDOWN: 'CELERY_COUNTDOWN',
  /** The task's eta, ISO 8601. */
  CELERY_ETA: 'CELERY_ETA',
  /** Seconds from sending until the task expires. */
  CELERY_EXPIRES: 'CELERY_EXPIRES',
  /** kombu priority 0..9. */
  CELERY_PRIORITY: 'CELERY_PRIORITY',
  /** `true`: wait for each result and print it. */
  CELERY_WAIT: 'CELERY_WAIT',
  /** Seconds to wait for each result. */
  CELERY_WAIT_TIMEOUT: 'CELERY_WAIT_TIMEOUT',
  /** The task's hard time limit in seconds (Celery's time_limit). */
  CELERY_TIME_LIMIT: 'CELERY_TIME_LIMIT',
  /** The task's soft time limit in seconds (Celery's soft_time_limit). */
  CELERY_SOFT_TIME_LIMIT: 'CELERY_SOFT_TIME_LIMIT',
  /** The pod's name (downward API); used in worker names. */
  POD_NAME: 'POD_NAME',
  // long-running commands
  METRICS_PORT: 'METRICS_PORT',
  LOG_LEVEL: 'LOG_LEVEL',
  /** `json` (pods, pipes) or `text` (a person at a terminal); default: text when stderr is a terminal. */
  LOG_FORMAT: 'LOG_FORMAT',
} as const;

/** Default Redis port. */
export const REDIS_PORT = 6379;

/** Port of the redis_exporter sidecar. */
export const REDIS_EXPORTER_PORT = 9121;

/** Port on which long-running commands serve `/healthz` and `/metrics`. */
export const METRICS_PORT = 9090;
/** Liveness: the process works (200), or is stopping (503). */
export const HEALTH_PATH = '/healthz';
/** Readiness: Redis is reachable (200), or not (503). */
export const READY_PATH = '/readyz';
export const METRICS_PATH = '/metrics';

/** The emptyDir mount of a Job-mode consumer, and the marker file in it. */
export const CLAIM_DIR = '/run/redis-keda';
export const CLAIM_FILE = `${CLAIM_DIR}/claimed`;

/** Default lease: long enough for the demo's 20 s events; renewed every third of it. */
export const DEFAULT_LEASE_SECONDS = 60;

/** Seconds a consumer finishes in-flight events after SIGTERM; pods get this plus {@link TERMINATION_MARGIN_SECONDS}. */
export const DEFAULT_GRACE_SECONDS = 30;
/** What a pod's terminationGracePeriodSeconds adds to the consumer's grace: time to hand work back and exit. */
export const TERMINATION_MARGIN_SECONDS = 10;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_MAX_DELIVERIES = 10;
export const DEFAULT_BACKOFF_SECONDS = 1;
export const DEFAULT_BACKOFF_MAX_SECONDS = 300;

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

/** Metric names served on `/metrics`. */
export const Metrics = {
  PUBLISHED: 'redis_keda_events_published_total',
  /** Events (publish) or tasks (celery-send) Redis refused at `maxmemory`: the queue was full. */
  PUBLISH_REJECTED: 'redis_keda_publish_rejected_total',
  PROCESSED: 'redis_keda_events_processed_total',
  FAILED: 'redis_keda_events_failed_total',
  DEAD_LETTERED: 'redis_keda_events_dead_lettered_total',
  REDELIVERED: 'redis_keda_events_redelivered_total',
  RETRIED: 'redis_keda_events_retried_total',
  PROCESSING_SECONDS: 'redis_keda_event_processing_seconds',
  /** enqueuedAt to acknowledgement. */
  LATENCY_SECONDS: 'redis_keda_event_latency_seconds',
  /** Events this process holds right now. */
  IN_FLIGHT: 'redis_keda_events_in_flight',
  /** Queue depth by `state`: ready, inflight, delayed, dead. */
  QUEUE_DEPTH: 'redis_keda_queue_depth',
} as const;

/**
 * Celery on a Redis broker, as kombu 5.2's Redis transport lays it out (observed with Celery 5.2.6).
 * Python workers and ours share these keys, so none of them may change.
 */
export const DEFAULT_CELERY_QUEUE = 'celery';
/** kombu's priority steps: priority 0 is the bare queue name and is served first. */
export const CELERY_PRIORITY_STEPS = [0, 3, 6, 9] as const;
/** kombu's separator between a queue name and its priority step. */
export const CELERY_PRIORITY_SEPARATOR = '\x06\x16';
/** The Redis list of one queue at one priority step: `celery`, `celery\x06\x163`, ... */
export function celeryPriorityList(queue: string, priority: number): string {
  return priority === 0 ? queue : `${queue}${CELERY_PRIORITY_SEPARATOR}${priority}`;
}
export const CeleryKeys = {
  /** Hash: delivery tag -> JSON `[message, exchange, routing_key]` of each unacknowledged message. */
  UNACKED: 'unacked',
  /** Zset: delivery tag -> time (s) it was taken; restored after the visibility timeout. */
  UNACKED_INDEX: 'unacked_index',
  /** Lock held while a worker restores timed-out messages (redis-py Lock: SET NX PX). */
  UNACKED_MUTEX: 'unacked_mutex',
  /** Set of `routing_key\x06\x16pattern\x06\x16queue` bindings of an exchange (`""` for Celery's default). */
  binding: (exchange: string) => `_kombu.binding.${exchange}`,
  /** String and PUBLISH channel of a task's result. */
  taskMeta: (taskId: string) => `celery-task-meta-${taskId}`,
  /** Our dead-letter list of messages no worker can parse ({@link DeadLetter} entries). */
  dead: (queue: string) => `${queue}:dead`,
} as const;
/** kombu's default visibility timeout (s). */
export const DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS = 3600;
/** Celery's default `result_expires` (s). */
export const DEFAULT_CELERY_RESULT_EXPIRES_SECONDS = 86400;
export const DEFAULT_CELERY_CONCURRENCY = 4;
/** The demo's task: stores a user registration in a `users:<n>` hash and returns the hash name. */
export const DEMO_CELERY_TASK = 'users.register';
/** Celery metric names served on `/metrics`. */
export const CeleryMetrics = {
  /** Tasks finished, by `task` and `state` (SUCCESS, FAILURE, REVOKED, REQUEUED). */
  TASKS: 'redis_keda_celery_tasks_total',
  TASK_SECONDS: 'redis_keda_celery_task_seconds',
  /** Tasks held by this process (running or waiting for their eta). */
  TASKS_ACTIVE: 'redis_keda_celery_tasks_active',
  /** Unacknowledged messages this worker put back after their visibility timeout. */
  RESTORED: 'redis_keda_celery_restored_total',
  /** Messages moved to the dead-letter list. */
  DEAD_LETTERED: 'redis_keda_celery_dead_lettered_total',
} as const;
/** Keys of the demo task DEMO_CELERY_TASK: a counter gives n, the registration goes to the hash `users:<n>`. */
export const CeleryDemoKeys = {
  /** INCR'd once per registration. */
  COUNTER: 'users:counter',
  user: (n: number) => `users:${n}`,
} as const;
/** Tasks a worker holds waiting for their eta, at most; past it the worker stops claiming until one is due. */
export const DEFAULT_CELERY_MAX_ETA_HELD = 1000;
/** Seconds between tasks of `celery-send --forever` (the demo's producer sent one a second). */
export const DEFAULT_CELERY_SEND_INTERVAL_SECONDS = 1;
