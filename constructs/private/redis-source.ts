import type { RedisConnection, RedisSource } from '../redis-connection';

/** The connection of a RedisSource: itself, or the `connection` of a RedisQueue or RedisCluster. */
export function connectionOf(source: RedisSource): RedisConnection {
  return 'connection' in source ? source.connection : source;
}
