// store.redis_wait_replicas in one place: after a write that must survive a failover (a
// settlement, a key, team, admin-token or audit change) the store asks Redis to WAIT until
// that many replicas have it. Off (0), it costs nothing: no command, no round trip.
import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';

/**
 * A settlement reached the master but not the replicas asked for in time (or the master went
 * away before saying): a failover could still lose it, so the settlement journal keeps it and
 * settles it again (idempotent) until the replicas have it. `settled` is the master's answer.
 */
export class ReplicasBehind extends Error {
  override name = 'ReplicasBehind';
  constructor(readonly settled: boolean) {
    super('the write is on the Redis master, not yet on the replicas asked for');
  }
}

/**
 * Resolves true once `replicas` replicas have every write sent before the call on this
 * connection (on a Cluster, each master's), false when they did not within `timeoutMs` or the
 * WAIT failed (`onShort` hears it). WAIT blocks its connection, so the callers of one event-loop
 * turn share one WAIT instead of queueing many.
 */
export function replicaWaiter(redis: RedisClient, replicas: number, timeoutMs: number, onShort: () => void): () => Promise<boolean> {
  if (replicas <= 0) return () => ALWAYS;
  let next: Promise<boolean> | null = null;
  const wait = async () => {
    next = null;
    const targets = redis instanceof Cluster ? redis.nodes('master') : [redis];
    const acked = await Promise.all(targets.map((node) => node.wait(replicas, timeoutMs).catch(() => -1)));
    if (acked.every((n) => n >= replicas)) return true;
    onShort();
    return false;
  };
  return () => (next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(wait));
}

const ALWAYS = Promise.resolve(true);
