// What happens to the Redis connection, for the log and the metrics: each time it serves again
// after losing Redis (a restart, a Sentinel failover), with how long it was away, and each WAIT
// that fewer replicas than asked acknowledged. Loss and recovery come from ioredis's own events.
import type { Cluster, Redis } from 'ioredis';

export interface StoreOutage {
  /** From the connection's loss to its next ready, in ms. */
  downMs: number;
}

export interface RedisWatcher {
  reconnected?(outage: StoreOutage): void;
  /** A WAIT (store.redis_wait_replicas) timed out or failed: the write may be on the master only. */
  waitShort?(): void;
}

export interface RedisWatch {
  /** Adds a watcher; returns its removal. */
  watch(watcher: RedisWatcher): () => void;
  waitShort(): void;
  stop(): void;
}

export function watchRedisConnection(redis: Redis | Cluster): RedisWatch {
  const watchers = new Set<RedisWatcher>();
  let lostAt: number | null = null;
  const lost = () => {
    lostAt ??= performance.now();
  };
  const ready = () => {
    if (lostAt === null) return;
    const outage = { downMs: Math.round(performance.now() - lostAt) };
    lostAt = null;
    for (const w of watchers) w.reconnected?.(outage);
  };
  redis.on('close', lost);
  redis.on('ready', ready);
  return {
    watch(watcher) {
      watchers.add(watcher);
      return () => void watchers.delete(watcher);
    },
    waitShort: () => {
      for (const w of watchers) w.waitShort?.();
    },
    stop: () => {
      redis.off('close', lost);
      redis.off('ready', ready);
      watchers.clear();
    },
  };
}
