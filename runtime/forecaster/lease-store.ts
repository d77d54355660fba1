/**
 * One writer per workload: a replica writes `forecast:<workload>` only while it holds `forecast-lease:{forecast:<workload>}`.
 * The lease check, its renewal and the write are one script, so no replica writes after losing the lease; both keys
 * share a slot (the lease key's hash tag is the forecast key), so the script runs on Redis Cluster too.
 */
import { forecastKey, forecastLeaseKey } from '../contract';
import type { RedisClient } from '../redis/connection';
import { LuaScript } from '../redis/lua-script';

/**
 * KEYS: lease, forecast. ARGV: replica id, lease ms, record ('' to renew only), record ms.
 * Takes a free lease or renews our own and writes; else returns who holds it and the stored record.
 */
const STORE = new LuaScript(
  'forecast-store',
  `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, holder, redis.call('GET', KEYS[2]) or ''}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
return {1, ARGV[1], ''}
`,
);

/** KEYS: lease. ARGV: replica id. Deletes the lease if it is ours. */
const RELEASE = new LuaScript(
  'forecast-release',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
);

export interface StoreResult {
  /** This replica holds the lease (and wrote the record, if it gave one). */
  readonly leader: boolean;
  /** The lease holder's id. */
  readonly holder: string;
  /** When another replica holds the lease: the record stored now (undefined when there is none). */
  readonly stored?: string;
}

/**
 * Renews (or takes) the lease of `workload` for `leaseMs` and, holding it, writes `record` to live `recordMs`.
 * Without a record it only renews.
 */
export async function storeWithLease(redis: RedisClient, workload: string, id: string, leaseMs: number, record?: { json: string; ttlMs: number }): Promise<StoreResult> {
  const reply = (await STORE.run(
    redis,
    [forecastLeaseKey(workload), forecastKey(workload)],
    [id, Math.max(1, Math.round(leaseMs)), record?.json ?? '', Math.max(1, Math.round(record?.ttlMs ?? 1))],
  )) as [number, string, string];
  return { leader: reply[0] === 1, holder: reply[1], ...(reply[2] ? { stored: reply[2] } : {}) };
}

/** Gives up the lease of `workload` if this replica holds it (on SIGTERM: a standby takes over at its next interval). */
export async function releaseLease(redis: RedisClient, workload: string, id: string): Promise<boolean> {
  return (await RELEASE.run(redis, [forecastLeaseKey(workload)], [id])) === 1;
}
