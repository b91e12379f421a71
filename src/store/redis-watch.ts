// What happens to the Redis connection, for the log, the metrics and the settlement journal:
// each time it serves again after losing Redis (a restart, a Sentinel failover), with how long
// it was away, and each WAIT that fewer replicas than asked acknowledged, or that all did.
// Loss and recovery come from ioredis's own events.
import type { Cluster, Redis } from 'ioredis';

export interface StoreOutage {
  /** From the connection's loss to its next ready, in ms. */
  downMs: number;
}

export interface RedisWatcher {
  /** Serving again after a loss; `epoch` is the connection's new one. */
  reconnected?(outage: StoreOutage, epoch: number): void;
  /** A WAIT (store.redis_wait_replicas) timed out or failed: the write may be on the master only. */
  waitShort?(): void;
  /** A WAIT sent at `sentAt` (performance.now()) in `epoch` was met: every write before it is on the replicas. */
  caughtUp?(sentAt: number, epoch: number): void;
}

export interface RedisWatch {
  /** Adds a watcher; returns its removal. */
  watch(watcher: RedisWatcher): () => void;
  /** Counts the connection's losses: writes of an earlier epoch may have gone with a master. */
  epoch(): number;
  waitShort(): void;
  caughtUp(sentAt: number, epoch: number): void;
  stop(): void;
}

export function watchRedisConnection(redis: Redis | Cluster): RedisWatch {
  const watchers = new Set<RedisWatcher>();
  let lostAt: number | null = null;
  let epoch = 0;
  const lost = () => {
    if (lostAt === null) epoch++;
    lostAt ??= performance.now();
  };
  const ready = () => {
    if (lostAt === null) return;
    const outage = { downMs: Math.round(performance.now() - lostAt) };
    lostAt = null;
    for (const w of watchers) w.reconnected?.(outage, epoch);
  };
  redis.on('close', lost);
  redis.on('ready', ready);
  return {
    watch(watcher) {
      watchers.add(watcher);
      return () => void watchers.delete(watcher);
    },
    epoch: () => epoch,
    waitShort: () => {
      for (const w of watchers) w.waitShort?.();
    },
    caughtUp: (sentAt, at) => {
      for (const w of watchers) w.caughtUp?.(sentAt, at);
    },
    stop: () => {
      redis.off('close', lost);
      redis.off('ready', ready);
      watchers.clear();
    },
  };
}
