// Lua helpers every quota and account script starts with: numbers in and out (`%.17g`, since
// Redis truncates Lua numbers to integers), the clock (Redis TIME unless a test injects one), and
// the sweep of leases that ran out (a team's reservations, the account's holds).
export const luaHelpers = `
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
`;
