/** Reads a queue's keys in tests, straight from Redis (not through the code under test). */
import type Redis from 'ioredis';
import { DeadLetter, queueKeys } from '../../runtime/contract';

export interface QueueState {
  readonly ready: string[];
  readonly inflight: string[];
  readonly inflightEvents: Record<string, string>;
  readonly dead: DeadLetter[];
}

export async function queueState(redis: Redis, list: string): Promise<QueueState> {
  const keys = queueKeys(list);
  const [ready, inflight, inflightEvents, dead] = await Promise.all([
    redis.lrange(keys.ready, 0, -1),
    redis.zrange(keys.inflight, '0', '-1'),
    redis.hgetall(keys.inflightEvents),
    redis.lrange(keys.dead, 0, -1),
  ]);
  return { ready, inflight, inflightEvents, dead: dead.map((entry) => JSON.parse(entry) as DeadLetter) };
}

/** The proof hash the fixture handler writes: event id -> times handled. */
export async function proof(redis: Redis, key: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(raw).map(([id, count]) => [id, Number(count)]));
}
