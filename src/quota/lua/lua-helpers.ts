// Lua helpers every quota and account script starts with: numbers in and out (`%.17g`, since
// Redis truncates Lua numbers to integers) and the clock (Redis TIME unless a test injects one).
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
`;
