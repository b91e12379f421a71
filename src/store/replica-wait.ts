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
  /** `epoch`: the connection's when the write was sent (RedisConnection.epoch()). */
  constructor(
    readonly settled: boolean,
    readonly epoch: number,
  ) {
    super('the write is on the Redis master, not yet on the replicas asked for');
  }
}

export interface WaitEvents {
  epoch(): number;
  waitShort(): void;
  caughtUp(sentAt: number, epoch: number): void;
}

/**
 * Resolves true once `replicas` replicas have every write sent before the call on this
 * connection (on a Cluster, each master's), false when they did not within `timeoutMs` or the
 * WAIT failed (`events` hear either: a WAIT met covers every write sent before it). WAIT blocks its connection, so the callers of one event-loop
 * turn share one WAIT instead of queueing many.
 */
export function replicaWaiter(redis: RedisClient, replicas: number, timeoutMs: number, events: WaitEvents): () => Promise<boolean> {
  if (replicas <= 0) return () => ALWAYS;
  let next: Promise<boolean> | null = null;
  const wait = async () => {
    next = null;
    const [sentAt, epoch] = [performance.now(), events.epoch()];
    const targets = redis instanceof Cluster ? redis.nodes('master') : [redis];
    const acked = await Promise.all(targets.map((node) => node.wait(replicas, timeoutMs).catch(() => -1)));
    if (acked.every((n) => n >= replicas)) {
      events.caughtUp(sentAt, epoch);
      return true;
    }
    events.waitShort();
    return false;
  };
  return () => (next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(wait));
}

const ALWAYS = Promise.resolve(true);
