/**
 * The queue's atomic steps. Each script does its whole change in one call so a crash between
 * steps cannot lose or duplicate an event. Times come from Redis `TIME`, so consumers with skewed
 * clocks agree on lease deadlines and retry times. The raw event never travels back from the
 * client: scripts read it from Redis, so what is requeued or dead-lettered is the stored bytes.
 *
 * Keys of one queue (see `queueKeys` in contract/queue.ts):
 *   ready          list   LPUSH by publishers, RPOP by consumers (the right end is taken next)
 *   inflight       zset   claim token -> lease deadline (ms)
 *   inflightEvents hash   claim token -> raw event
 *   delayed        zset   retry token -> due time (ms)
 *   delayedEvents  hash   retry token -> raw event
 *   deliveries     hash   <sha1 of raw> -> claims since the event last reached an outcome
 *   failures       hash   <sha1 of raw> -> handler failures; <sha1>:first -> time of the first (ms)
 *   dead           list   DeadLetter JSON, newest first
 *
 * A claim's delivery number is its `deliveries` count: the deliveries whose consumer died, plus
 * this one. A handled failure or a hand-back at stop takes its delivery back. Identical events in
 * flight at the same time share the count, but are not redeliveries of each other: a count over 1
 * is taken less the identical events held beside it (a scan of the in-flight events, only then).
 *
 * Steps work on batches with one command per key where Redis allows it (RPOP count, ZADD and HSET
 * of many, ZMSCORE, HMGET): a busy consumer's claim or ack of a hundred events is a few commands.
 * Needs Redis >= 6.2.
 *
 * Every script here takes, moves or frees events, so each runs at `maxmemory` too (DRAINS:
 * `#!lua flags=allow-oom`): a full queue refuses publishers' LPUSH yet drains to empty.
 *
 * In Redis Cluster all keys of a script must share a slot: name the list with a hash tag,
 * e.g. `{events}`, and every derived key lands with it.
 */
import { DRAINS, LuaScript } from '../redis/lua-script';

/** Due retries moved to the ready list per call. */
export const PROMOTE_BATCH = 100;
/** Over-limit events one claim call dead-letters besides the events it hands out. */
export const CLAIM_DEAD_LETTER_LIMIT = 100;

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Counter bookkeeping shared by the scripts (see the header). */
const COUNTERS = `
-- Identical events held now (only for a count over 1: a redelivery, or identical events at once).
local function held_copies(inflightEvents, raw)
  local n = 0
  for _, other in ipairs(redis.call('HVALS', inflightEvents)) do
    if other == raw then n = n + 1 end
  end
  return n
end
-- Ended without an outcome and without a crash (a retry scheduled, handed back at stop): not a delivery that counts.
local function released(deliveries, sha)
  if redis.call('HINCRBY', deliveries, sha, -1) <= 0 then redis.call('HDEL', deliveries, sha) end
end
-- Deliveries of the event before this one whose consumer died.
local function crashes(deliveries, sha)
  return math.max(0, tonumber(redis.call('HGET', deliveries, sha) or '1') - 1)
end
-- An outcome (acknowledged, dead-lettered): the event's counters go.
local function finished(deliveries, failures, sha)
  redis.call('HDEL', deliveries, sha)
  redis.call('HDEL', failures, sha, sha .. ':first')
end
-- Puts a held claim's event back at the consuming end of the list; crashed: the delivery stays counted.
local function requeue(inflightEvents, ready, deliveries, token, crashed)
  local raw = redis.call('HGET', inflightEvents, token)
  if not raw then return 0 end
  redis.call('RPUSH', ready, raw)
  if not crashed then released(deliveries, redis.sha1hex(raw)) end
  return 1
end
-- A DeadLetter entry, fields in a fixed order; cjson keeps the raw bytes of the event exactly.
local function dead_entry(raw, reason, err, attempts, deliveries, first, now)
  return '{"event":' .. cjson.encode(raw) .. ',"reason":"' .. reason .. '","error":' .. cjson.encode(err) ..
    ',"attempts":' .. string.format('%d', attempts) .. ',"deliveries":' .. string.format('%d', deliveries) ..
    ',"firstFailedAt":' .. string.format('%d', first) .. ',"failedAt":' .. string.format('%d', now) .. '}'
end
-- Moves due retries to the consuming end of the ready list, earliest due taken first.
local function promote(delayed, delayedEvents, ready, now, limit)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  local promoted = 0
  for i = #due, 1, -1 do
    local raw = redis.call('HGET', delayedEvents, due[i])
    if raw then
      redis.call('RPUSH', ready, raw)
      promoted = promoted + 1
    end
  end
  if #due > 0 then
    redis.call('ZREM', delayed, unpack(due))
    redis.call('HDEL', delayedEvents, unpack(due))
  end
  return promoted, #due
end
`;

/**
 * Promotes due retries, then takes up to `count` events. An event whose delivery number would
 * exceed maxDeliveries (its consumers keep dying) is dead-lettered here instead of handed out.
 * KEYS: ready, inflight, inflightEvents, delayed, delayedEvents, deliveries, failures, dead.
 * ARGV: leaseMs, count, maxDeliveries, tokenPrefix (claim tokens are tokenPrefix .. 1, 2, ...).
 * Returns { deadline, deadLettered, nextDue (-1: none; only read when fewer than count were taken),
 *           token1, raw1, delivery1, token2, ... }.
 */
export const CLAIM_EVENTS = new LuaScript(
  'claim',
  `${NOW_MS}${COUNTERS}
local count = tonumber(ARGV[2])
local maxDeliveries = tonumber(ARGV[3])
promote(KEYS[4], KEYS[5], KEYS[1], now, ${PROMOTE_BATCH})
local deadline = now + tonumber(ARGV[1])
local out = { deadline, 0, -1 }
local leases, events, taken_of = {}, {}, {}
local taken, dead = 0, 0
while taken < count and dead < ${CLAIM_DEAD_LETTER_LIMIT} do
  local raws = redis.call('RPOP', KEYS[1], count - taken)
  if not raws then break end
  for _, raw in ipairs(raws) do
    local sha = redis.sha1hex(raw)
    local delivery = redis.call('HINCRBY', KEYS[6], sha, 1)
    if delivery > 1 then
      delivery = math.max(1, delivery - (taken_of[sha] or 0) - held_copies(KEYS[3], raw))
    end
    if delivery > maxDeliveries then
      local attempts = tonumber(redis.call('HGET', KEYS[7], sha) or '0')
      local first = tonumber(redis.call('HGET', KEYS[7], sha .. ':first') or now)
      local why = 'delivered ' .. (delivery - 1) .. ' times (max-deliveries ' .. maxDeliveries .. ') without an outcome: its consumer died or lost the lease each time'
      redis.call('LPUSH', KEYS[8], dead_entry(raw, 'max-deliveries', why, attempts, attempts + delivery - 1, first, now))
      finished(KEYS[6], KEYS[7], sha)
      dead = dead + 1
    else
      taken = taken + 1
      taken_of[sha] = (taken_of[sha] or 0) + 1
      local token = ARGV[4] .. taken
      leases[#leases + 1] = deadline
      leases[#leases + 1] = token
      events[#events + 1] = token
      events[#events + 1] = raw
      out[#out + 1] = token
      out[#out + 1] = raw
      out[#out + 1] = delivery
    end
  end
end
if taken > 0 then
  redis.call('ZADD', KEYS[2], unpack(leases))
  redis.call('HSET', KEYS[3], unpack(events))
end
out[2] = dead
if taken < count then
  local upcoming = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if upcoming[2] then out[3] = tonumber(upcoming[2]) end
end
return out
`,
  DRAINS,
);

/**
 * Finishes events whose handler succeeded. KEYS: inflight, inflightEvents, deliveries, failures.
 * ARGV: tokens. Returns one 1 (was held) or 0 (a reaper had requeued it: it will run again) per token.
 */
export const ACK = new LuaScript(
  'ack',
  `
if #ARGV == 0 then return {} end
local held = redis.call('ZMSCORE', KEYS[1], unpack(ARGV))
local raws = redis.call('HMGET', KEYS[2], unpack(ARGV))
-- Most queues have no failure waiting for a retry: then there is nothing to clear there.
local anyFailures = redis.call('EXISTS', KEYS[4]) == 1
local out, acked, counters, failures = {}, {}, {}, {}
for i, token in ipairs(ARGV) do
  out[i] = 0
  if held[i] then
    out[i] = 1
    acked[#acked + 1] = token
    if raws[i] then
      local sha = redis.sha1hex(raws[i])
      counters[#counters + 1] = sha
      if anyFailures then
        failures[#failures + 1] = sha
        failures[#failures + 1] = sha .. ':first'
      end
    end
  end
end
if #acked > 0 then redis.call('ZREM', KEYS[1], unpack(acked)) end
if #counters > 0 then redis.call('HDEL', KEYS[3], unpack(counters)) end
if #failures > 0 then redis.call('HDEL', KEYS[4], unpack(failures)) end
redis.call('HDEL', KEYS[2], unpack(ARGV))
return out
`,
  DRAINS,
);

/**
 * Moves a held event to the dead-letter list (malformed events). KEYS: inflight, inflightEvents,
 * deliveries, failures, dead. ARGV: token, reason, error. Returns 1, or 0 (and writes nothing) if
 * the claim was lost: the event is back on the ready list and must not exist twice.
 */
export const DEAD_LETTER_EVENT = new LuaScript(
  'dead-letter',
  `${NOW_MS}${COUNTERS}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if not raw then return 1 end
local sha = redis.sha1hex(raw)
local attempts = tonumber(redis.call('HGET', KEYS[4], sha) or '0') + 1
local first = tonumber(redis.call('HGET', KEYS[4], sha .. ':first') or now)
redis.call('LPUSH', KEYS[5], dead_entry(raw, ARGV[2], ARGV[3], attempts, attempts + crashes(KEYS[3], sha), first, now))
finished(KEYS[3], KEYS[4], sha)
return 1
`,
  DRAINS,
);

/**
 * A handler failed: counts the failure, then schedules a retry after
 * min(backoffMs * 2^(attempts-1), backoffMaxMs) less up to 10 % jitter, or dead-letters the
 * event (reason handler-failed) once attempts reach maxAttempts.
 * KEYS: inflight, inflightEvents, delayed, delayedEvents, deliveries, failures, dead.
 * ARGV: token, error, maxAttempts, backoffMs, backoffMaxMs, jitter in [0, 1).
 * Returns { 1 retried | 2 dead-lettered | 0 lost, attempts, due (ms, retries only) }.
 */
export const RETRY = new LuaScript(
  'retry',
  `${NOW_MS}${COUNTERS}
local token = ARGV[1]
if redis.call('ZREM', KEYS[1], token) == 0 then return { 0, 0, 0 } end
local raw = redis.call('HGET', KEYS[2], token)
redis.call('HDEL', KEYS[2], token)
if not raw then return { 0, 0, 0 } end
local sha = redis.sha1hex(raw)
local attempts = redis.call('HINCRBY', KEYS[6], sha, 1)
local first = tonumber(redis.call('HGET', KEYS[6], sha .. ':first') or '0')
if first == 0 then
  first = now
  redis.call('HSET', KEYS[6], sha .. ':first', now)
end
if attempts >= tonumber(ARGV[3]) then
  redis.call('LPUSH', KEYS[7], dead_entry(raw, 'handler-failed', ARGV[2], attempts, attempts + crashes(KEYS[5], sha), first, now))
  finished(KEYS[5], KEYS[6], sha)
  return { 2, attempts, 0 }
end
released(KEYS[5], sha)
local delay = math.min(tonumber(ARGV[4]) * 2 ^ (attempts - 1), tonumber(ARGV[5]))
local due = now + math.floor(delay * (1 - 0.1 * tonumber(ARGV[6])))
redis.call('ZADD', KEYS[3], due, token)
redis.call('HSET', KEYS[4], token, raw)
return { 1, attempts, due }
`,
  DRAINS,
);

/**
 * Pushes held claims' deadlines to now + leaseMs. KEYS: inflight. ARGV: leaseMs, tokens.
 * Returns { deadline, lost tokens... } (ZADD XX never re-creates a claim that is gone).
 */
export const EXTEND_LEASES = new LuaScript(
  'extend-leases',
  `${NOW_MS}
local deadline = now + tonumber(ARGV[1])
local out = { deadline }
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
  else
    out[#out + 1] = ARGV[i]
  end
end
return out
`,
  DRAINS,
);

/**
 * Gives held events back at stop, at the consuming end of the ready list (taken next), without
 * counting the delivery. KEYS: inflight, inflightEvents, ready, deliveries.
 * ARGV: tokens, the one to be taken first last. Returns how many went back.
 */
export const HAND_BACK = new LuaScript(
  'hand-back',
  `${COUNTERS}
local n = 0
for _, token in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[1], token) == 1 then n = n + requeue(KEYS[2], KEYS[3], KEYS[4], token, false) end
end
redis.call('HDEL', KEYS[2], unpack(ARGV))
return n
`,
  DRAINS,
);

/**
 * Requeues up to ARGV[1] claims whose lease ran out, at the consuming end of the ready list so
 * they are taken next (the earliest claimed first). KEYS: inflight, inflightEvents, ready, deliveries.
 * ARGV: limit. Returns { requeued, expiredSeen }: call again while expiredSeen == limit.
 */
export const REAP = new LuaScript(
  'reap',
  `${NOW_MS}${COUNTERS}
local tokens = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[1]))
local requeued = 0
for i = #tokens, 1, -1 do requeued = requeued + requeue(KEYS[2], KEYS[3], KEYS[4], tokens[i], true) end
if #tokens > 0 then
  redis.call('ZREM', KEYS[1], unpack(tokens))
  redis.call('HDEL', KEYS[2], unpack(tokens))
end
return { requeued, #tokens }
`,
  DRAINS,
);

/**
 * Moves retries that are due to the consuming end of the ready list. KEYS: delayed, delayedEvents,
 * ready. ARGV: limit. Returns { promoted, dueSeen }: call again while dueSeen == limit.
 */
export const PROMOTE = new LuaScript(
  'promote',
  `${NOW_MS}${COUNTERS}
local promoted, seen = promote(KEYS[1], KEYS[2], KEYS[3], now, tonumber(ARGV[1]))
return { promoted, seen }
`,
  DRAINS,
);

/**
 * Puts up to ARGV[1] dead-lettered events back on the ready list, oldest first, each exactly as it
 * was published (LPUSH, like a publisher), with its delivery and failure counters reset. Only
 * entries whose reason is ARGV[2] are taken ('' takes any). Looks at most ARGV[4] entries,
 * starting ARGV[3] entries from the oldest end (what earlier calls of one redrive kept); entries
 * of another reason, and entries that are not a DeadLetter (counted as skipped), stay where they
 * are. KEYS: dead, ready, deliveries, failures. ARGV: limit, reason, start, scan.
 * Returns { redriven, skipped, looked at, 1 if the list ended }.
 */
export const REDRIVE = new LuaScript(
  'redrive',
  `
local limit, reason, start, scan = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
-- Taken entries become this (no entry starts with a NUL byte), then go in one LREM.
local taken = '\\0redis-keda:redriven'
local len = redis.call('LLEN', KEYS[1])
local redriven, skipped, seen = 0, 0, 0
local i = start
while i < len and redriven < limit and seen < scan do
  local entry = redis.call('LINDEX', KEYS[1], -(i + 1))
  seen = seen + 1
  local ok, decoded = pcall(cjson.decode, entry)
  if ok and type(decoded) == 'table' and type(decoded.event) == 'string' then
    if reason == '' or decoded.reason == reason then
      local sha = redis.sha1hex(decoded.event)
      redis.call('LPUSH', KEYS[2], decoded.event)
      redis.call('HDEL', KEYS[3], sha)
      redis.call('HDEL', KEYS[4], sha, sha .. ':first')
      redis.call('LSET', KEYS[1], -(i + 1), taken)
      redriven = redriven + 1
    end
  else
    skipped = skipped + 1
  end
  i = i + 1
end
if redriven > 0 then redis.call('LREM', KEYS[1], 0, taken) end
return { redriven, skipped, seen, i >= len and 1 or 0 }
`,
  DRAINS,
);
