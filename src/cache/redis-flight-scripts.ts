// The Lua scripts of the cross-replica single-flight (./redis-flight-coordinator.ts). Each runs
// on one slot: a key's value, lock and live backlog share its hash tag, so reading the cache
// and taking the lock (or storing the answer and letting go) is one atomic step, and one round trip.

/**
 * KEYS: value, lock, live backlog. ARGV: owner, lock ms, now (ms, the caller's clock).
 * The stored value if unexpired at `now` ({'value', bytes}, ./redis-cache-store.ts stamps it),
 * else the lock, taken with the previous flight's backlog cleared ({'led'}), else {'busy'}.
 * Atomic, so no replica can store an answer and let go between the look and the lock.
 */
export const readOrLeadLua = `
local v = redis.call('GET', KEYS[1])
if v and #v >= 8 and struct.unpack('>d', v) > tonumber(ARGV[3]) then return {'value', v} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('DEL', KEYS[3])
  return {'led'}
end
return {'busy'}
`;

/** KEYS: lock. ARGV: owner, lock ms. 1 if the lock is still the owner's (extended), else 0. */
export const renewLua = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * KEYS: value, lock. ARGV: owner, channel, key[, stamped value, ttl ms]. Stores the value when
 * given (ttl <= 0 deletes it), gives the lock up if still the owner's, and announces the key.
 */
export const releaseLua = `
if #ARGV >= 5 then
  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5]) else redis.call('DEL', KEYS[1]) end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;
