/**
 * The one redis-server a benchmark runs against (test/support's: free loopback port, temp dir,
 * `--save '' --appendonly no`), and what its INFO says: version, per-command call counts, CPU.
 */
import Redis from 'ioredis';
import { RedisServer, startRedis } from '../../test/support/redis-server';

export type { RedisServer };
export { startRedis };

/** A plain client of the benchmark's own (not the runtime's connection helper: that is under test). */
export function client(server: RedisServer): Redis {
  return new Redis({ host: '127.0.0.1', port: server.port, protocol: 2, maxRetriesPerRequest: 1, connectionName: 'bench' });
}

export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export async function redisVersion(redis: Redis): Promise<string> {
  return (await info(redis, 'server')).redis_version;
}

/** What redis-server did between two snapshots: calls per command and its own CPU seconds. */
export interface ServerWork {
  readonly calls: Record<string, number>;
  readonly cpuSeconds: number;
}

/** Resets the command statistics and returns a CPU baseline; pass it to {@link workSince}. */
export async function startCounting(redis: Redis): Promise<number> {
  await redis.config('RESETSTAT');
  return cpuSeconds(redis);
}

/** Commands only the benchmark sends (never a queue under test): left out of {@link workSince}'s calls. */
const BENCH_ONLY = new Set(['info', 'config|resetstat']);

/**
 * Calls per command since {@link startCounting} (commands run inside scripts included: Redis
 * counts them too), less `own`: the calls the benchmark itself made meanwhile (its polling).
 */
export async function workSince(redis: Redis, cpuBaseline: number, own: Readonly<Record<string, number>> = {}): Promise<ServerWork> {
  const stats = await info(redis, 'commandstats');
  const calls: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats)) {
    const match = /^cmdstat_(.+)$/.exec(key);
    const count = /(?:^|,)calls=(\d+)/.exec(value);
    if (!match || !count || BENCH_ONLY.has(match[1])) continue;
    const left = Number(count[1]) - (own[match[1]] ?? 0);
    if (left > 0) calls[match[1]] = left;
  }
  return { calls, cpuSeconds: (await cpuSeconds(redis)) - cpuBaseline };
}

async function cpuSeconds(redis: Redis): Promise<number> {
  const cpu = await info(redis, 'cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}
