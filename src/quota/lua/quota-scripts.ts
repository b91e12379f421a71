// The Lua scripts of the Redis QuotaStore: one per decision, so each runs atomically on the
// team's slot. Every key a script touches is passed in KEYS and shares the team's hash tag;
// numbers go back to Node as strings (`%.17g`) because Redis truncates Lua numbers to integers.

import { BUCKET_MS, WINDOW_MS } from '../rate-buckets.js';
import { periodCarryLua } from '../period-carry.js';
import { luaHelpers } from './lua-helpers.js';

const common = `${luaHelpers}${periodCarryLua}-- 'model' is the ledger's model|key column pair, joined by the caller (see ledgerField).
local function bump(ledger, days, day, model, counter, n)
  redis.call('HINCRBYFLOAT', ledger, model .. '|' .. counter, n)
  redis.call('SADD', days, day)
end
-- A rate window is one hash: a weight per bucket of BUCKET ms (field: the bucket's number), '#'
-- their total, 'o' a bucket at or below the oldest one kept (see ../rate-buckets.ts).
local BUCKET, WINDOW = ${BUCKET_MS}, ${WINDOW_MS}
-- Drops the buckets that left the window; returns the window's total weight.
local function trim(h, now)
  local last = math.floor((now - WINDOW) / BUCKET)
  local o = tonumber(redis.call('HGET', h, 'o'))
  if not o or o > last then return num(redis.call('HGET', h, '#')) end
  -- Every count is preceded by a trim, so no bucket is newer than o + WINDOW / BUCKET.
  if last - o >= WINDOW / BUCKET then
    redis.call('DEL', h)
    return 0
  end
  local freed = 0
  for b = o, last do
    local w = redis.call('HGET', h, b)
    if w then
      freed = freed + tonumber(w)
      redis.call('HDEL', h, b)
    end
  end
  redis.call('HSET', h, 'o', last + 1)
  return tonumber(redis.call('HINCRBYFLOAT', h, '#', -freed))
end
local function count(h, now, weight)
  local b = math.ceil(now / BUCKET)
  redis.call('HINCRBYFLOAT', h, b, weight)
  redis.call('HINCRBYFLOAT', h, '#', weight)
  redis.call('HSETNX', h, 'o', b)
  redis.call('PEXPIRE', h, WINDOW * 2)
end
-- When the window will have room for weight more (ms from now); a weight above max never fits: a minute.
local function retryAfter(h, used, weight, max, now)
  local all = redis.call('HGETALL', h)
  local buckets = {}
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b and all[i] ~= 'o' then buckets[#buckets + 1] = {b, tonumber(all[i + 1])} end
  end
  table.sort(buckets, function(x, y) return x[1] < y[1] end)
  for _, bw in ipairs(buckets) do
    used = used - bw[2]
    if used + weight <= max then return bw[1] * BUCKET + WINDOW - now end
  end
  return WINDOW
end
-- Tokens a key holds in live reservations; entries whose lease ended or was settled are dropped.
local function keyHeld(kheld, leases, now)
  local all = redis.call('HGETALL', kheld)
  local sum = 0
  for i = 1, #all, 2 do
    local expires = redis.call('ZSCORE', leases, all[i])
    if expires and tonumber(expires) > now then sum = sum + tonumber(all[i + 1]) else redis.call('HDEL', kheld, all[i]) end
  end
  return sum
end
`;

/**
 * One decision over every limit a request must fit (team budget, key budget, rate windows).
 * KEYS: state, leases, held, record, ledger day, ledger days, key state, key held, then the
 * hash of each of the four windows (team rpm, team tpm, key rpm, key tpm); only the windows in
 * ARGV are used.
 * ARGV: id, amount, budget ('' = none), periodId, leaseMs, model, day, now, useRedisTime,
 * record ttl ms, key id ('' = none), key budget ('' = none), key periodId, probe ('1': only
 * measure the room left), window count, then per window: scope, limit, max.
 * Returns {'ok', spent, reserved, left ('' = none)} | {'budget', scope, spent, reserved} |
 * {'rate_limit', scope, limit, retryAfterMs}.
 */
export const reserveLua = `${common}
local id, amount, budget, period = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local model, day = ARGV[6], ARGV[7]
local now = clock(ARGV[8], ARGV[9])
local keyId, keyBudget, keyPeriod, probe = ARGV[11], tonumber(ARGV[12]), ARGV[13], ARGV[14] == '1'
local st = redis.call('HMGET', KEYS[1], 'period', 'spent', 'reserved')
local spent, reserved = spendIn(st[1], num(st[2]), period), num(st[3])
reserved = math.max(0, reserved - sweep(KEYS[2], KEYS[3], now))
redis.call('HSET', KEYS[1], 'period', periodAfter(st[1], period), 'spent', spent, 'reserved', reserved)
-- A retried reserve (resent after a dropped connection) must not hold twice.
if not probe and redis.call('EXISTS', KEYS[4]) == 1 then return {'ok', fmt(spent), fmt(reserved), ''} end
local function refuse(result)
  bump(KEYS[5], KEYS[6], day, model, 'requests', 1)
  bump(KEYS[5], KEYS[6], day, model, 'rejections', 1)
  return result
end
local rooms = {}
local windows = {}
for w = 1, tonumber(ARGV[15]) do
  local scope, limit, max = ARGV[13 + 3 * w], ARGV[14 + 3 * w], tonumber(ARGV[15 + 3 * w])
  local slot = (scope == 'key' and 2 or 0) + (limit == 'tokens_per_minute' and 2 or 1)
  local h = KEYS[8 + slot]
  local used = trim(h, now)
  local weight = 1
  if limit == 'tokens_per_minute' then
    weight = amount
    rooms[#rooms + 1] = max - used - weight
  end
  if not probe and used + weight > max then
    return refuse({'rate_limit', scope, limit, fmt(retryAfter(h, used, weight, max, now))})
  end
  windows[#windows + 1] = {h, weight}
end
if budget then
  if not probe and spent + reserved + amount > budget then return refuse({'budget', 'team', fmt(spent), fmt(reserved)}) end
  rooms[#rooms + 1] = budget - spent - reserved - amount
end
if keyId ~= '' and keyBudget then
  local ks = redis.call('HMGET', KEYS[7], 'period', 'spent')
  local kspent = spendIn(ks[1], num(ks[2]), keyPeriod)
  local kreserved = keyHeld(KEYS[8], KEYS[2], now)
  if not probe and kspent + kreserved + amount > keyBudget then
    return refuse({'budget', 'key', fmt(kspent), fmt(kreserved)})
  end
  rooms[#rooms + 1] = keyBudget - kspent - kreserved - amount
end
local left = ''
if #rooms > 0 then left = fmt(math.max(0, math.min(unpack(rooms)))) end
if probe then return {'ok', fmt(spent), fmt(reserved), left} end
reserved = reserved + amount
redis.call('HSET', KEYS[1], 'reserved', reserved)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), id)
redis.call('HSET', KEYS[3], id, amount)
redis.call('HSET', KEYS[4], 'amount', amount, 'state', 'held', 'counted', now)
redis.call('PEXPIRE', KEYS[4], ARGV[10])
if keyId ~= '' then redis.call('HSET', KEYS[8], id, amount) end
for _, w in ipairs(windows) do count(w[1], now, w[2]) end
return {'ok', fmt(spent), fmt(reserved), left}
`;

/**
 * KEYS: state, leases, held, record, ledger day, ledger days, key state, key held, then the
 * hashes of the tokens_per_minute windows that counted this reservation (team, key; a key
 * no script writes stands for one that did not).
 * ARGV: id, actual, periodId, model, day, failed ('1'/'0'), record ttl ms, key id ('' = none),
 * key periodId. Returns 1, or 0 if already settled.
 */
export const settleLua = `${common}
if redis.call('HGET', KEYS[4], 'state') == 'settled' then return 0 end
local id, actual, period, model, day = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local st = redis.call('HMGET', KEYS[1], 'period', 'spent', 'reserved')
local spent, reserved = spendIn(st[1], num(st[2]), period), num(st[3])
-- Still held (even if its lease ran out unswept): release it. Swept or unknown: already released.
local amount = redis.call('HGET', KEYS[3], id)
if amount then
  reserved = math.max(0, reserved - tonumber(amount))
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('HSET', KEYS[1], 'period', periodAfter(st[1], period), 'spent', spent + actual, 'reserved', reserved)
redis.call('HSET', KEYS[4], 'state', 'settled')
redis.call('PEXPIRE', KEYS[4], ARGV[7])
if ARGV[8] ~= '' then
  local ks = redis.call('HMGET', KEYS[7], 'period', 'spent')
  local kspent = spendIn(ks[1], num(ks[2]), ARGV[9])
  redis.call('HSET', KEYS[7], 'period', periodAfter(ks[1], ARGV[9]), 'spent', kspent + actual)
  redis.call('HDEL', KEYS[8], id)
end
-- A token window still holding the estimate (in the bucket it was counted in) takes the actual cost instead.
local counted = tonumber(redis.call('HGET', KEYS[4], 'counted'))
if amount and counted then
  local b, delta = math.ceil(counted / BUCKET), actual - tonumber(amount)
  for k = 9, #KEYS do
    if redis.call('HEXISTS', KEYS[k], b) == 1 then
      redis.call('HINCRBYFLOAT', KEYS[k], b, delta)
      redis.call('HINCRBYFLOAT', KEYS[k], '#', delta)
    end
  end
end
bump(KEYS[5], KEYS[6], day, model, 'requests', 1)
bump(KEYS[5], KEYS[6], day, model, 'tokens_spent', actual)
if ARGV[6] == '1' then bump(KEYS[5], KEYS[6], day, model, 'failures', 1) end
return 1
`;

/**
 * KEYS: leases, record. ARGV: id, leaseMs, now, useRedisTime, record ttl ms.
 * A lease that already ran out is over even if no sweep has noticed yet: no revival.
 */
export const extendLua = `${common}
local now = clock(ARGV[3], ARGV[4])
local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if not expires or expires <= now then return 0 end
local until_ = now + tonumber(ARGV[2])
if until_ > expires then
  redis.call('ZADD', KEYS[1], until_, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1
`;

/** KEYS: state, leases, held. ARGV: periodId, now, useRedisTime. Returns {spent, reserved, outstanding}. */
export const usageLua = `${common}
local now = clock(ARGV[2], ARGV[3])
local freed = sweep(KEYS[2], KEYS[3], now)
local st = redis.call('HMGET', KEYS[1], 'period', 'spent', 'reserved')
local spent, reserved = num(st[2]), math.max(0, num(st[3]) - freed)
if freed > 0 and st[1] then redis.call('HSET', KEYS[1], 'reserved', reserved) end
spent = spendIn(st[1], spent, ARGV[1])
return {fmt(spent), fmt(reserved), redis.call('ZCARD', KEYS[2])}
`;

/** KEYS: ledger day, ledger days. ARGV: day, model, then counter/amount pairs. */
export const ledgerAddLua = `${common}
for i = 3, #ARGV, 2 do bump(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1]) end
return 1
`;

/**
 * KEYS: ledger day, ledger days, the day's savings writers. ARGV: day, writer, writers ttl ms,
 * then per row: flush number, model, requests, hits, coalesced, tokens_saved. A writer's rows of
 * one (team, day) all go in one call, resent unchanged until one succeeds: a flush number at or
 * below the writer's last one was applied before (its reply was lost) and is skipped.
 */
export const savingsAddLua = `${common}
local last = num(redis.call('HGET', KEYS[3], ARGV[2]))
local top = last
for i = 4, #ARGV, 6 do
  local seq = tonumber(ARGV[i])
  if seq > last then
    bump(KEYS[1], KEYS[2], ARGV[1], ARGV[i + 1], 'requests', ARGV[i + 2])
    bump(KEYS[1], KEYS[2], ARGV[1], ARGV[i + 1], 'hits', ARGV[i + 3])
    bump(KEYS[1], KEYS[2], ARGV[1], ARGV[i + 1], 'coalesced', ARGV[i + 4])
    bump(KEYS[1], KEYS[2], ARGV[1], ARGV[i + 1], 'tokens_saved', ARGV[i + 5])
    if seq > top then top = seq end
  end
end
if top > last then redis.call('HSET', KEYS[3], ARGV[2], fmt(top)) end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return top > last and 1 or 0
`;

/**
 * An admin changed a budget's period: the state (team or key) takes the new kind's current id,
 * keeping what was spent in the old kind's current period (spent in an older one: zero), and at
 * least what the ledger charged in the new period so far.
 * KEYS: state. ARGV: the old kind's current id, the new kind's, the ledger's charges.
 */
export const rebaseLua = `${common}
local st = redis.call('HMGET', KEYS[1], 'period', 'spent')
-- No state yet: one in the new kind, so a settlement of the old kind landing later carries into it.
local kept = st[1] and spendIn(st[1], num(st[2]), ARGV[1]) or 0
redis.call('HSET', KEYS[1], 'period', ARGV[2], 'spent', fmt(math.max(kept, tonumber(ARGV[3]))))
return 1
`;

/**
 * A rotated key's spend goes to the key that replaced it. KEYS: old key state, new key state.
 * Added to what the new key spent already (it may have been used before this ran).
 */
export const carryKeyLua = `${common}
local old = redis.call('HMGET', KEYS[1], 'period', 'spent')
if not old[1] then return 0 end
local new = redis.call('HMGET', KEYS[2], 'period', 'spent')
if not new[1] then
  redis.call('HSET', KEYS[2], 'period', old[1], 'spent', old[2])
else
  redis.call('HSET', KEYS[2], 'spent', fmt(num(new[2]) + spendIn(old[1], num(old[2]), new[1])))
end
return 1
`;
