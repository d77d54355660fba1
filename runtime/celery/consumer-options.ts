/** What a Celery consumer is given. */
import type Redis from 'ioredis';
import type { UnknownTaskPolicy } from '../contract';
import type { Logger } from '../log';
import type { CeleryWorkerMetrics } from './metrics';
import type { TaskRegistry } from './tasks';

/** The policy's one spelling is the contract's; re-exported for the runtime API. */
export type { UnknownTaskPolicy };

export interface CeleryConsumerOptions {
  /** The broker and result backend connection; the caller owns it. */
  readonly redis: Redis;
  /** A connection of its own for the blocking wait on an empty queue; without one the consumer polls every 100 ms. */
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
