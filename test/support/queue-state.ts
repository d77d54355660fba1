/** Reads a queue's keys in tests, straight from Redis (not through the code under test). */
import type { Cluster, Redis } from 'ioredis';
import { DeadLetter, queueKeys } from '../../runtime/contract';

export interface QueueState {
  readonly ready: string[];
  readonly inflight: string[];
  readonly inflightEvents: Record<string, string>;
  readonly delayed: string[];
  readonly delayedEvents: Record<string, string>;
  /** `<list>:deliveries` and `<list>:failures`: empty once every event reached an outcome. */
  readonly deliveries: Record<string, string>;
  readonly failures: Record<string, string>;
  readonly dead: DeadLetter[];
}

/** A queue with nothing in it and no counters left behind. */
export const EMPTY_QUEUE: QueueState = { ready: [], inflight: [], inflightEvents: {}, delayed: [], delayedEvents: {}, deliveries: {}, failures: {}, dead: [] };

export async function queueState(redis: Redis | Cluster, list: string): Promise<QueueState> {
  const keys = queueKeys(list);
  const [ready, inflight, inflightEvents, delayed, delayedEvents, deliveries, failures, dead] = await Promise.all([
    redis.lrange(keys.ready, 0, -1),
    redis.zrange(keys.inflight, '0', '-1'),
    redis.hgetall(keys.inflightEvents),
    redis.zrange(keys.delayed, '0', '-1'),
    redis.hgetall(keys.delayedEvents),
    redis.hgetall(keys.deliveries),
    redis.hgetall(keys.failures),
    redis.lrange(keys.dead, 0, -1),
  ]);
  return { ready, inflight, inflightEvents, delayed, delayedEvents, deliveries, failures, dead: dead.map((entry) => JSON.parse(entry) as DeadLetter) };
}

/** The proof hash the fixture handler writes: event id -> times handled. */
export async function proof(redis: Redis | Cluster, key: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(raw).map(([id, count]) => [id, Number(count)]));
}
