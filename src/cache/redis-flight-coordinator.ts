// Single-flight across replicas sharing Redis: the replica that goes upstream for a key holds
// a short lock on it (SET NX PX, renewed while its call runs), and announces on a pub/sub
// channel when it is done; the others wait for that (or poll the cache) instead of calling.
// A lock whose holder died simply expires: nothing here may make a request wait forever.
// A streamed leader also appends its events to a Redis stream (bounded backlog) and notices
// on the key's own channel, so followers on other replicas relay them live. A key's lock, live
// backlog and channel carry its cached value's name as hash tag: one slot with the value (one
// script reads it and takes the lock), ready for sharded pub/sub.
import type { RedisClient, RedisConnection } from '../store/connection.js';
import { redisCacheKey, stamped, unstamped } from './redis-cache-store.js';
import { readOrLeadLua, releaseLua, renewLua } from './redis-flight-scripts.js';

/** A live entry: `lead` a leader's reservation (who pays, should it die), `e` an event, `end` the end. */
export type LiveField = 'lead' | 'e' | 'end';

/** One look at a key: its stored value (unexpired), or whether the caller now holds its lock. */
export type Claim = { value: Buffer } | { led: boolean };

/** An answer to store as the lock is let go (the cache's bytes, expiry on the caller's clock). */
export interface StoreOnRelease {
  value: Buffer;
  expiresAt: number;
  now: number;
}

export interface FlightCoordinator {
  /** The key's stored value if unexpired at `now`, else its lock for `owner` if nobody holds it: one atomic step. */
  readOrLead(key: string, owner: string, ttlMs: number, now: number): Promise<Claim>;
  /** Extends the lock while the leader's call runs; false if it is no longer ours. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Stores `store` (if given), gives the lock up (if still ours) and wakes every waiter on every replica: one step. */
  release(key: string, owner: string, store?: StoreOnRelease): Promise<void>;
  /** Resolves when `key` is announced (or `cancel` is called); subscribe first, then look. */
  listen(key: string): { done: Promise<void>; cancel(): void };
  /** Resolves once the subscription is active, or after `timeoutMs` (polling covers the gap). */
  ready(timeoutMs: number): Promise<void>;
  /** True while someone holds the lock on `key`. */
  isLocked(key: string): Promise<boolean>;
  /** Takes the lock of a leader that let go or died, keeping its live backlog (the taker continues it). */
  tryTakeOver(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** A streamed leader's entry (its reservation, an event, or the end) for followers on other replicas. */
  appendLive(key: string, field: LiveField, value: string): Promise<void>;
  /** Live entries after `afterId` ('0' for all), in order. */
  readLive(key: string, afterId: string): Promise<Array<{ id: string; field: string; value: string }>>;
  /** Resolves at the next live entry of `key` (or on `cancel`); subscribe first, then read. */
  listenLive(key: string): { done: Promise<void>; cancel(): void };
  close(): Promise<void>;
}

// defineCommand: EVALSHA, the script reloaded by ioredis on NOSCRIPT.
const scripts = {
  egwFlightReadOrLead: { numberOfKeys: 3, lua: readOrLeadLua },
  egwFlightRenew: { numberOfKeys: 1, lua: renewLua },
  egwFlightRelease: { numberOfKeys: 2, lua: releaseLua },
} as const;
type Arg = string | number | Buffer;
interface FlightCommands {
  egwFlightReadOrLeadBuffer(...args: Arg[]): Promise<Buffer[]>;
  egwFlightRenew(...args: Arg[]): Promise<number>;
  egwFlightRelease(...args: Arg[]): Promise<number>;
}

/** Live backlog kept per stream (entries), and how long it outlives its last entry. */
const LIVE_MAX_ENTRIES = 10_000;
const LIVE_TTL_MS = 120_000;

/** The Redis key of a cache key's lock: its value's whole name as hash tag (a name without braces hashes whole), so one slot. */
export const redisLockKey = (prefix: string, key: string) => `${prefix}cache-lock:{${redisCacheKey(prefix, key)}}`;

export function createRedisFlightCoordinator(conn: RedisConnection): FlightCoordinator {
  const { redis, prefix } = conn;
  for (const [name, def] of Object.entries(scripts)) redis.defineCommand(name, def);
  const call = redis as unknown as FlightCommands;
  const valueKey = (key: string) => redisCacheKey(prefix, key);
  const lockKey = (key: string) => redisLockKey(prefix, key);
  const channel = `${prefix}cache-done`;
  const liveKey = (key: string) => `${prefix}live:{${valueKey(key)}}`;
  const liveChannel = (key: string) => `${prefix}live:{${valueKey(key)}}:notice`;
  /** Waiters by key (done announcements) or by live channel name. */
  const waiters = new Map<string, Set<() => void>>();
  let subscriber: RedisClient | null = null;
  let subscribed: Promise<void> | null = null;
  let closed = false;

  const subscribe = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('cache coordinator closed'));
    subscribed ??= (async () => {
      // A connection in subscriber mode can run nothing else: hence a second connection (both
      // connect lazily). On a Cluster, PUBLISH reaches every node: any node's subscriber hears it.
      const sub = conn.subscriber();
      sub.on('message', (from: string, key: string) => {
        const id = from === channel ? key : from;
        // Each waiter cancels itself once woken (unregistering, and unsubscribing a live channel with the last).
        for (const wake of waiters.get(id) ?? []) wake();
      });
      subscriber = sub;
      await sub.connect();
      await sub.subscribe(channel);
    })().catch((err: unknown) => {
      subscribed = null; // try again on the next wait
      throw err;
    });
    return subscribed;
  };

  /** A waiter on `id`; `onLast` runs when the last waiter on it goes. */
  const wait = (id: string, onLast?: () => void) => {
    let wake!: () => void;
    const done = new Promise<void>((resolve) => (wake = resolve));
    let set = waiters.get(id);
    if (!set) waiters.set(id, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      const current = waiters.get(id);
      current?.delete(wake);
      if (current?.size === 0) {
        waiters.delete(id);
        onLast?.();
      }
      wake();
    };
    return { done, cancel };
  };

  return {
    async readOrLead(key, owner, ttlMs, now) {
      const [verdict, value] = await call.egwFlightReadOrLeadBuffer(valueKey(key), lockKey(key), liveKey(key), owner, ttlMs, now);
      const seen = verdict.toString();
      const bytes = seen === 'value' ? unstamped(value, now) : null; // the script judged it unexpired at `now` already
      return bytes ? { value: bytes } : { led: seen === 'led' };
    },
    async tryTakeOver(key, owner, ttlMs) {
      return (await redis.set(lockKey(key), owner, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async renew(key, owner, ttlMs) {
      return (await call.egwFlightRenew(lockKey(key), owner, ttlMs)) === 1;
    },
    async release(key, owner, store) {
      const write = store ? [stamped(store.value, store.expiresAt), Math.ceil(store.expiresAt - store.now)] : [];
      await call.egwFlightRelease(valueKey(key), lockKey(key), owner, channel, key, ...write);
    },
    listen: (key) => wait(key),
    async isLocked(key) {
      return (await redis.exists(lockKey(key))) === 1;
    },
    async appendLive(key, field, value) {
      await Promise.all([
        redis.xadd(liveKey(key), 'MAXLEN', '~', LIVE_MAX_ENTRIES, '*', field, value),
        redis.pexpire(liveKey(key), LIVE_TTL_MS),
        redis.publish(liveChannel(key), '1'),
      ]);
    },
    async readLive(key, afterId) {
      const start = afterId === '0' ? '-' : `(${afterId}`;
      const entries = await redis.xrange(liveKey(key), start, '+', 'COUNT', 1000);
      return entries.map(([id, fields]) => ({ id, field: fields[0], value: fields[1] }));
    },
    listenLive(key) {
      const name = liveChannel(key);
      const first = !waiters.has(name);
      const signal = wait(name, () => void subscriber?.unsubscribe(name).catch(() => {}));
      if (first) void subscribe().then(() => subscriber?.subscribe(name)).catch(() => {});
      return signal;
    },
    async ready(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([subscribe().catch(() => {}), timeout]);
      clearTimeout(timer);
    },
    async close() {
      closed = true;
      const sub = subscriber;
      subscriber = null;
      for (const set of waiters.values()) for (const wake of set) wake();
      waiters.clear();
      if (sub && sub.status !== 'end') await sub.quit().catch(() => sub.disconnect());
    },
  };
}
