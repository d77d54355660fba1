/**
 * How each worker claims, side by side: the engine is one, the numbers are each worker's own,
 * because what a claim costs and how soon work must be noticed differ.
 */
import type { ClaimTuning } from './engine';

/** The queue consumer (`consume`). */
export const QUEUE_CLAIMING: ClaimTuning = {
  // 3 measured best for no-op handlers at concurrency 100 (bench:queue): a claim is one small script.
  lanes: 3,
  // What the claim script accepts per call.
  maxBatch: 1000,
  // Also bounds how late a retry that another consumer promoted is noticed.
  maxWaitMs: 2000,
  // Polling (no blocking connection): 10 ms, 20 ms, ... 250 ms apart on an empty list.
  minPollMs: 10,
  maxPollMs: 250,
  noun: 'events',
};

/** The Celery consumer (`celery-worker`). */
export const CELERY_CLAIMING: ClaimTuning = {
  // 2 since the worker was written (no measurement recorded, unlike the queue's 3); each call here scans
  // every queue and priority list and records each message in kombu's unacked hash, so it costs more.
  lanes: 2,
  // What the claim script accepts per call: a kombu envelope is far larger than a queue event.
  maxBatch: 500,
  // kombu's BRPOP timeout: the other queues and priority lists are looked at least this often.
  maxWaitMs: 1000,
  // Polling every 100 ms, as kombu's Redis transport does without BRPOP.
  minPollMs: 100,
  maxPollMs: 100,
  noun: 'messages',
};
