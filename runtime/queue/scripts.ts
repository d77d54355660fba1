/**
 * The queue's atomic steps. Each script does its whole change in one call so a crash between
 * steps cannot lose or duplicate an event. Times come from Redis `TIME`, so consumers with skewed
 * clocks agree on lease deadlines.
 *
 * Keys of one queue (see `queueKeys` in contract.ts):
 *   ready          list   LPUSH by publishers, RPOP by consumers
 *   inflight       zset   claim token -> lease deadline (ms)
 *   inflightEvents hash   claim token -> raw event
 *   dead           list   DeadLetter JSON
 * (`delayed`, a zset of raw event -> due time, is reserved for retries; nothing writes it yet.)
 *
 * In Redis Cluster all keys of a script must share a slot: name the list with a hash tag,
 * e.g. `{events}`, and every derived key lands with it.
 */
import { LuaScript } from '../redis/lua-script';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Takes up to #ARGV-1 events, each under the claim token the client made for it.
 * KEYS: ready, inflight, inflightEvents. ARGV: leaseMs, token1, token2, ...
 * Returns { deadline, token1, raw1, token2, raw2, ... } (only the tokens actually used).
 */
export const CLAIM = new LuaScript(
  'claim',
  `${NOW_MS}
local deadline = now + tonumber(ARGV[1])
local out = { deadline }
for i = 2, #ARGV do
  local raw = redis.call('RPOP', KEYS[1])
  if not raw then break end
  redis.call('ZADD', KEYS[2], deadline, ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], raw)
  out[#out + 1] = ARGV[i]
  out[#out + 1] = raw
end
return out
`,
);

/**
 * Finishes an event. KEYS: inflight, inflightEvents. ARGV: token.
 * Returns 1 if the claim was still held, 0 if a reaper had already requeued it.
 */
export const ACK = new LuaScript(
  'ack',
  `
local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return held
`,
);

/**
 * Moves a held event to the dead-letter list. KEYS: inflight, inflightEvents, dead.
 * ARGV: token, DeadLetter JSON. Returns 1, or 0 (and writes nothing) if the claim was lost: the
 * event is back on the ready list and must not exist twice.
 */
export const DEAD_LETTER = new LuaScript(
  'dead-letter',
  `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
`,
);

/**
 * Pushes a held claim's deadline to now + leaseMs. KEYS: inflight. ARGV: token, leaseMs.
 * Returns the new deadline, or 0 if the claim is no longer held (ZADD XX never re-creates it).
 */
export const EXTEND_LEASE = new LuaScript(
  'extend-lease',
  `${NOW_MS}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local deadline = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[1])
return deadline
`,
);

/**
 * Requeues up to ARGV[1] claims whose lease ran out, at the consuming end of the ready list so
 * they are taken next. KEYS: inflight, inflightEvents, ready. ARGV: limit.
 * Returns { requeued, expiredSeen }: call again while expiredSeen == limit.
 */
export const REAP = new LuaScript(
  'reap',
  `${NOW_MS}
local tokens = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[1]))
local requeued = 0
for _, token in ipairs(tokens) do
  local raw = redis.call('HGET', KEYS[2], token)
  if raw then
    redis.call('RPUSH', KEYS[3], raw)
    requeued = requeued + 1
  end
  redis.call('ZREM', KEYS[1], token)
  redis.call('HDEL', KEYS[2], token)
end
return { requeued, #tokens }
`,
);
