// Single-flight across replicas sharing Redis: the replica that goes upstream for a key holds
// a short lock on it (SET NX PX, renewed while its call runs), and announces on a pub/sub
// channel when it is done; the others wait for that (or poll the cache) instead of calling.
// A lock whose holder died simply expires: nothing here may make a request wait forever.
import type { Redis } from 'ioredis';
import type { RedisConnection } from '../store/connection.js';

export interface FlightCoordinator {
  /** Takes the lock on `key` for `owner` if nobody holds it; true if the caller leads now. */
  tryLead(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lock while the leader's call runs; false if it is no longer ours. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lock up (if still ours) and wakes every waiter on every replica. */
  release(key: string, owner: string): Promise<void>;
  /** Resolves when `key` is announced (or `cancel` is called); subscribe first, then look. */
  listen(key: string): { done: Promise<void>; cancel(): void };
  /** Resolves once the subscription is active, or after `timeoutMs` (polling covers the gap). */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3]) return 1`;

export function createRedisFlightCoordinator(conn: RedisConnection): FlightCoordinator {
  const { redis, prefix } = conn;
  const lockKey = (key: string) => `${prefix}cache-lock:${key}`;
  const channel = `${prefix}cache-done`;
  const waiters = new Map<string, Set<() => void>>();
  let subscriber: Redis | null = null;
  let subscribed: Promise<void> | null = null;
  let closed = false;

  const subscribe = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('cache coordinator closed'));
    subscribed ??= (async () => {
      // A connection in subscriber mode can run nothing else: hence a second connection.
      const sub = redis.duplicate({ lazyConnect: true });
      sub.on('error', () => {}); // commands on the main connection report failures
      sub.on('message', (_channel: string, key: string) => {
        const set = waiters.get(key);
        if (!set) return;
        waiters.delete(key);
        for (const wake of set) wake();
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

  return {
    async tryLead(key, owner, ttlMs) {
      return (await redis.set(lockKey(key), owner, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async renew(key, owner, ttlMs) {
      return (await redis.eval(RENEW, 1, lockKey(key), owner, ttlMs)) === 1;
    },
    async release(key, owner) {
      await redis.eval(RELEASE, 1, lockKey(key), owner, channel, key);
    },
    listen(key) {
      let wake!: () => void;
      const done = new Promise<void>((resolve) => (wake = resolve));
      let set = waiters.get(key);
      if (!set) waiters.set(key, (set = new Set()));
      set.add(wake);
      const cancel = () => {
        const current = waiters.get(key);
        current?.delete(wake);
        if (current?.size === 0) waiters.delete(key);
        wake();
      };
      return { done, cancel };
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
