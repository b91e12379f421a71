// The Lua scripts of the Redis QuotaStore: one per decision, so each runs atomically on the
// team's slot. Every key a script touches is passed in KEYS and shares the team's hash tag;
// numbers go back to Node as strings (`%.17g`) because Redis truncates Lua numbers to integers.

const common = `
local function num(v) return tonumber(v) or 0 end
local function fmt(x) return string.format('%.17g', x) end
local function clock(given, useRedisTime)
  if useRedisTime == '1' then
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return tonumber(given)
end
-- Ends leases that ran out at or before now; returns the tokens they held.
local function sweep(leases, held, now)
  local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  local freed = 0
  for _, id in ipairs(ids) do
    freed = freed + num(redis.call('HGET', held, id))
    redis.call('HDEL', held, id)
  end
  if #ids > 0 then redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end
  return freed
end
local function bump(ledger, days, day, model, counter, n)
  redis.call('HINCRBYFLOAT', ledger, model .. '|' .. counter, n)
  redis.call('SADD', days, day)
end
`;

/**
 * KEYS: state, leases, held, rate, record, ledger day, ledger days.
 * ARGV: id, amount, budget ('' = none), periodId, leaseMs, rpm ('' = none), model, day, now,
 * useRedisTime ('1'/'0'), record ttl ms.
 * Returns {'ok', spent, reserved} | {'budget', spent, reserved} | {'rate_limit', retryAfterMs}.
 */
export const reserveLua = `${common}
local id, amount, budget, period = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local rpm, model, day = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local now = clock(ARGV[9], ARGV[10])
local st = redis.call('HMGET', KEYS[1], 'period', 'spent', 'reserved')
local spent, reserved = num(st[2]), num(st[3])
if st[1] ~= period then spent = 0 end
reserved = math.max(0, reserved - sweep(KEYS[2], KEYS[3], now))
redis.call('HSET', KEYS[1], 'period', period, 'spent', spent, 'reserved', reserved)
-- A retried reserve (resent after a dropped connection) must not hold twice.
if redis.call('EXISTS', KEYS[5]) == 1 then return {'ok', fmt(spent), fmt(reserved)} end
local window = now - (now % 60000)
local count = 0
if rpm then
  local rate = redis.call('HMGET', KEYS[4], 'window', 'count')
  if tonumber(rate[1]) == window then count = num(rate[2]) end
  if count >= rpm then
    bump(KEYS[6], KEYS[7], day, model, 'requests', 1)
    bump(KEYS[6], KEYS[7], day, model, 'rejections', 1)
    return {'rate_limit', fmt(window + 60000 - now)}
  end
end
if budget and spent + reserved + amount > budget then
  bump(KEYS[6], KEYS[7], day, model, 'requests', 1)
  bump(KEYS[6], KEYS[7], day, model, 'rejections', 1)
  return {'budget', fmt(spent), fmt(reserved)}
end
reserved = reserved + amount
redis.call('HSET', KEYS[1], 'reserved', reserved)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), id)
redis.call('HSET', KEYS[3], id, amount)
redis.call('HSET', KEYS[5], 'amount', amount, 'state', 'held')
redis.call('PEXPIRE', KEYS[5], ARGV[11])
if rpm then
  redis.call('HSET', KEYS[4], 'window', window, 'count', count + 1)
  redis.call('PEXPIRE', KEYS[4], 120000)
end
return {'ok', fmt(spent), fmt(reserved)}
`;

/**
 * KEYS: state, leases, held, record, ledger day, ledger days.
 * ARGV: id, actual, periodId, model, day, failed ('1'/'0'), record ttl ms. Returns 1, or 0 if already settled.
 */
export const settleLua = `${common}
if redis.call('HGET', KEYS[4], 'state') == 'settled' then return 0 end
local id, actual, period, model, day = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local st = redis.call('HMGET', KEYS[1], 'period', 'spent', 'reserved')
local spent, reserved = num(st[2]), num(st[3])
if st[1] ~= period then spent = 0 end
-- Still held (even if its lease ran out unswept): release it. Swept or unknown: already released.
local amount = redis.call('HGET', KEYS[3], id)
if amount then
  reserved = math.max(0, reserved - tonumber(amount))
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('HSET', KEYS[1], 'period', period, 'spent', spent + actual, 'reserved', reserved)
redis.call('HSET', KEYS[4], 'state', 'settled')
redis.call('PEXPIRE', KEYS[4], ARGV[7])
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
if st[1] ~= ARGV[1] then spent = 0 end
return {fmt(spent), fmt(reserved), redis.call('ZCARD', KEYS[2])}
`;

/** KEYS: ledger day, ledger days. ARGV: day, model, then counter/amount pairs. */
export const ledgerAddLua = `${common}
for i = 3, #ARGV, 2 do bump(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1]) end
return 1
`;
