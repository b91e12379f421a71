// The Lua scripts of the Redis AccountStore (../redis-account-store.ts): each runs atomically on
// the `{account}` slot. State: balance (upstream's last reading), mark (the settled total when
// that reading began), settled (every settlement's tokens, all replicas), held (holds' total).

import { luaHelpers } from './lua-helpers.js';

/**
 * KEYS: state, leases, holds. ARGV: id, amount, floor, leaseMs, now, useRedisTime ('1'/'0').
 * Returns {'ok'} | {'floor', spendable}.
 */
export const accountReserveLua = `${luaHelpers}
local amount, floor, now = tonumber(ARGV[2]), tonumber(ARGV[3]), clock(ARGV[5], ARGV[6])
local st = redis.call('HMGET', KEYS[1], 'balance', 'mark', 'settled', 'held')
local held = math.max(0, num(st[4]) - sweep(KEYS[2], KEYS[3], now))
redis.call('HSET', KEYS[1], 'held', fmt(held))
if not st[1] then return {'ok'} end
local spendable = tonumber(st[1]) - (num(st[3]) - num(st[2])) - held - floor
if amount > spendable then return {'floor', fmt(spendable)} end
if redis.call('HSETNX', KEYS[3], ARGV[1], amount) == 1 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
  redis.call('HSET', KEYS[1], 'held', fmt(held + amount))
end
return {'ok'}
`;

/** KEYS: state, leases, holds. ARGV: id, actual. */
export const accountSettleLua = `${luaHelpers}
local amount = redis.call('HGET', KEYS[3], ARGV[1])
if amount then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HINCRBYFLOAT', KEYS[1], 'held', -tonumber(amount))
end
redis.call('HINCRBYFLOAT', KEYS[1], 'settled', ARGV[2])
return 1
`;

/** KEYS: leases. ARGV: id, leaseMs, now, useRedisTime. A hold whose lease ran out is over: no revival. */
export const accountExtendLua = `${luaHelpers}
local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
local now = clock(ARGV[3], ARGV[4])
if not expires or expires <= now then return 0 end
if now + tonumber(ARGV[2]) > expires then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
return 1
`;

/** KEYS: state. ARGV: balance, mark ('' = the settled total now: a 402). An older reading is ignored. */
export const accountObserveLua = `
local st = redis.call('HMGET', KEYS[1], 'balance', 'mark', 'settled')
local mark = ARGV[2]
if mark == '' then mark = st[3] or '0' end
if st[1] and tonumber(mark) < (tonumber(st[2]) or 0) then return 0 end
redis.call('HSET', KEYS[1], 'balance', ARGV[1], 'mark', mark)
return 1
`;
