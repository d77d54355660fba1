/**
 * The Lua scripts of the Celery worker. Each keeps kombu's Redis layout (the `unacked` hash, the
 * `unacked_index` zset, the queue lists and their priority lists) consistent in one atomic step,
 * so a Python worker sharing the queue never sees half of a change. Those that take, move or
 * finish messages run at `maxmemory` too (DRAINS), so a full broker still drains; producers'
 * LPUSH (ours and Python's) is refused there.
 */
import { DRAINS, LuaScript } from '../redis/lua-script';

/**
 * Takes up to ARGV[1] messages and records kombu's ack bookkeeping for each in the same step:
 * `ZADD unacked_index <now> <tag>` and `HSET unacked <tag> [<message>, <exchange>, <routing_key>]`,
 * the hash value built around the raw message so it stays byte for byte what was pushed.
 *
 * KEYS: unacked, unacked_index, then per queue (in the current round-robin order) its dead list
 * and its four priority lists (step 0 first).
 * ARGV: count, now (s, float), tag prefix for messages without a delivery_tag, now (ms), then the
 * queue names (the routing key of a message that carries none).
 *
 * Order as kombu's BRPOP: priority outer, queue inner; the queue a message came from moves to the
 * end of the order, so several queues are served in turn. A message that is not a JSON object
 * cannot be put in `unacked` (Python's restore would choke on it): it goes to the queue's dead
 * list at once.
 *
 * Returns {dead-lettered, order (comma-separated queue positions), then per message: queue
 * position, raw message, delivery tag}.
 */
export const CLAIM_MESSAGES = new LuaScript(
  'celery-claim',
  `
local count = tonumber(ARGV[1])
local now = ARGV[2]
local prefix = ARGV[3]
local nowMs = tonumber(ARGV[4])
local nq = (#KEYS - 2) / 5
local order = {}
for i = 1, nq do order[i] = i end
local out = {0, ''}
local generated = 0
local taken = 0

local function record(q, raw)
  local ok, msg = pcall(cjson.decode, raw)
  if not ok or type(msg) ~= 'table' or not raw:match('^%s*{') then
    local entry = cjson.encode({event = raw, reason = 'malformed', error = 'message is not a JSON object', attempts = 1, deliveries = 1, firstFailedAt = nowMs, failedAt = nowMs})
    redis.call('LPUSH', KEYS[2 + (q - 1) * 5 + 1], entry)
    out[1] = out[1] + 1
    return
  end
  local props = msg['properties']
  local tag, ex, rk
  if type(props) == 'table' then
    tag = props['delivery_tag']
    local info = props['delivery_info']
    if type(info) == 'table' then
      ex = info['exchange']
      rk = info['routing_key']
    end
  end
  if type(tag) ~= 'string' or tag == '' then
    generated = generated + 1
    tag = prefix .. generated
  end
  if type(ex) ~= 'string' then ex = '' end
  if type(rk) ~= 'string' or rk == '' then rk = ARGV[4 + q] end
  redis.call('ZADD', KEYS[2], now, tag)
  redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
  out[#out + 1] = q
  out[#out + 1] = raw
  out[#out + 1] = tag
  taken = taken + 1
end

if nq == 1 then
  -- One queue: no rotation, so pop as many as wanted per priority list in one command.
  -- A malformed message counts against the batch too: the claim stays bounded.
  for p = 0, 3 do
    local want = count - taken - out[1]
    if want <= 0 then break end
    local raws = redis.call('RPOP', KEYS[4 + p], want)
    if raws then
      for _, raw in ipairs(raws) do record(1, raw) end
    end
  end
else
  while taken + out[1] < count do
    local found = false
    for p = 0, 3 do
      for oi = 1, nq do
        local q = order[oi]
        local raw = redis.call('RPOP', KEYS[2 + (q - 1) * 5 + 2 + p])
        if raw then
          table.remove(order, oi)
          order[#order + 1] = q
          record(q, raw)
          found = true
          break
        end
      end
      if found then break end
    end
    if not found then break end
  end
end
out[2] = table.concat(order, ',')
return out
`,
  DRAINS,
);

/**
 * Stores results, sends follow-up tasks (chain steps, link callbacks / errbacks) and acknowledges,
 * for a batch of finished tasks, each in one atomic step: per task, unless a SUCCESS is stored
 * already (Celery never overwrites one), `SETEX celery-task-meta-<id>` and `PUBLISH` on the same
 * channel; then the follow-ups are LPUSHed; then `HDEL unacked` + `ZREM unacked_index`.
 *
 * KEYS: unacked, unacked_index, then per task: its result key and the list of each follow-up.
 * ARGV: result expiry (s; 0 keeps the result forever), then per task: delivery tag ('' for no
 * ack), result JSON ('' for none), number of follow-ups, the follow-up messages.
 * Returns how many of the tags were still held (the others were restored meanwhile).
 */
export const FINISH = new LuaScript(
  'celery-finish',
  `
local expires = tonumber(ARGV[1])
local held = 0
local k = 3
local a = 2
while a <= #ARGV do
  local tag = ARGV[a]
  local value = ARGV[a + 1]
  local pushes = tonumber(ARGV[a + 2])
  local key = KEYS[k]
  if value ~= '' then
    local current = redis.call('GET', key)
    local keep = false
    if current and string.find(current, 'SUCCESS', 1, true) then
      local ok, meta = pcall(cjson.decode, current)
      keep = ok and type(meta) == 'table' and meta['status'] == 'SUCCESS'
    end
    if not keep then
      if expires > 0 then
        redis.call('SETEX', key, expires, value)
      else
        redis.call('SET', key, value)
      end
      redis.call('PUBLISH', key, value)
    end
  end
  for i = 1, pushes do
    redis.call('LPUSH', KEYS[k + i], ARGV[a + 2 + i])
  end
  if tag ~= '' then
    held = held + redis.call('HDEL', KEYS[1], tag)
    redis.call('ZREM', KEYS[2], tag)
  end
  k = k + 1 + pushes
  a = a + 3 + pushes
end
return held
`,
  DRAINS,
);

/**
 * Moves a held message to a dead list as a DeadLetter entry (reason malformed) built here, so its
 * `event` holds the message's bytes as they are (cjson copies bytes it does not escape), acknowledges
 * it, and stores a result if one is given (so a caller waiting on the task id gets an error
 * instead of hanging).
 * KEYS: unacked, unacked_index, dead list, result key.
 * ARGV: tag, raw message, error, now (ms), result JSON or '', expiry (s).
 */
export const DEAD_LETTER_MESSAGE = new LuaScript(
  'celery-dead-letter',
  `
local now = tonumber(ARGV[4])
redis.call('LPUSH', KEYS[3], cjson.encode({event = ARGV[2], reason = 'malformed', error = ARGV[3], attempts = 1, deliveries = 1, firstFailedAt = now, failedAt = now}))
redis.call('ZREM', KEYS[2], ARGV[1])
local held = redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[5] ~= '' then
  local current = redis.call('GET', KEYS[4])
  if not (current and string.find(current, '"SUCCESS"', 1, true)) then
    local expires = tonumber(ARGV[6])
    if expires > 0 then redis.call('SETEX', KEYS[4], expires, ARGV[5]) else redis.call('SET', KEYS[4], ARGV[5]) end
    redis.call('PUBLISH', KEYS[4], ARGV[5])
  end
end
return held
`,
  DRAINS,
);

/**
 * Puts a held message back unchanged at the far end of its list (consumed last), for Python
 * workers that know its task. KEYS: unacked, unacked_index, list. ARGV: tag, raw message.
 * Returns 1, or 0 when it was no longer held (nothing pushed: whoever restored it pushed it).
 */
export const REQUEUE = new LuaScript(
  'celery-requeue',
  `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
`,
  DRAINS,
);

/**
 * kombu's restore_by_tag as one compare-and-swap: if `unacked[tag]` is still the value read, the
 * entry leaves both keys and the (redelivered) message is RPUSHed to each target list, where the
 * next BRPOP takes it first. A missing entry only leaves the index, as kombu does.
 * KEYS: unacked, unacked_index, target lists... ARGV: tag, value read, message to push.
 * Returns 1 restored, 0 gone, -1 changed meanwhile (left alone).
 */
export const RESTORE = new LuaScript(
  'celery-restore',
  `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if current ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
return 1
`,
  DRAINS,
);

/** redis-py's Lock release: delete the lock only if it still holds our token. */
export const RELEASE_LOCK = new LuaScript(
  'celery-release-lock',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
);

/**
 * Marks held messages as taken at ARGV[1] (s) so nobody restores them; ZADD XX, so a tag restored
 * meanwhile stays gone. A script only to run at `maxmemory`, where a plain ZADD is refused.
 * KEYS: unacked_index. ARGV: now, tags.
 */
export const TOUCH = new LuaScript(
  'celery-touch',
  `
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i]) end
return #ARGV - 1
`,
  DRAINS,
);

/**
 * redis-py's Lock acquire (SET NX PX with a token), as a script so the restore of a dead worker's
 * messages can start at `maxmemory` too. KEYS: the lock. ARGV: token, ms. Returns 1 when taken.
 */
export const TAKE_LOCK = new LuaScript(
  'celery-take-lock',
  `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
`,
  DRAINS,
);
