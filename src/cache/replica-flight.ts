// Single-flight across replicas sharing Redis: lead a key (take its lock, renewed while the
// upstream call runs) or wait for the replica that leads it, woken by its announcement or by
// polling the cache. A leader that dies lets its lock expire and a waiter takes over; past its
// bound a waiter goes upstream itself. Nothing here may make a request wait forever.
import { randomUUID } from 'node:crypto';
import type { Clock, Timers } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { CachedAnswer } from './cached-answer.js';
import type { FlightCoordinator } from './redis-flight-coordinator.js';
import { within } from './single-flight.js';

export interface ReplicaFlightDeps {
  coordinator: FlightCoordinator;
  config: Config['cache'];
  /** A waiter's bound is counted on this clock, and its polls wait on these timers (a test's manual clock). */
  clock: Clock;
  timers: Timers;
  /** Reads the shared store; throws when it fails. */
  read(key: string): Promise<CachedAnswer | null>;
  /** Bounds a store call by cache.store_timeout_ms. */
  timed<T>(work: Promise<T>): Promise<T>;
  /** A store failure: the cache backs off and logs (throttled). */
  onError(err: unknown): void;
  storeError(err: unknown): void;
}

/**
 * A held lock on a key: calling it releases it and announces. `lost()` turns true once a renewal
 * found it gone or another's (this replica stalled past lock_ms and a follower took over): a
 * streamed leader then stops mirroring, so two writers never interleave one live backlog.
 */
export type KeyLock = (() => void) & { lost(): boolean };

/** Another replica's answer, or the go-ahead to call upstream (holding the lock, or without one). */
export type Leadership = { answer: CachedAnswer } | { lock: KeyLock | null };

export async function awaitLeader(deps: ReplicaFlightDeps, key: string, boundMs: number): Promise<Leadership> {
  const { coordinator, config, read, timed, clock } = deps;
  const owner = randomUUID();
  try {
    if (await timed(coordinator.tryLead(key, owner, config.lock_ms))) {
      // Another replica may have stored the answer and let go between our lookup and the lock.
      const answer = await read(key);
      if (!answer) return { lock: holdLock(deps, key, owner) };
      void coordinator.release(key, owner).catch(() => {});
      return { answer };
    }
    await coordinator.ready(config.store_timeout_ms);
    const deadline = clock.now() + boundMs;
    for (;;) {
      const signal = coordinator.listen(key); // listen before looking, so no announcement is missed
      try {
        const answer = await read(key);
        if (answer) return { answer };
        if (await timed(coordinator.tryLead(key, owner, config.lock_ms))) return { lock: holdLock(deps, key, owner) };
        const left = deadline - clock.now();
        if (left <= 0) return { lock: null };
        await within(signal.done, Math.min(config.poll_ms, left), deps.timers);
      } finally {
        signal.cancel();
      }
    }
  } catch (err) {
    deps.onError(err);
    return { lock: null };
  }
}

/** Renews the lock while the leader's call runs; the returned function releases it and announces. */
function holdLock(deps: ReplicaFlightDeps, key: string, owner: string): KeyLock {
  const { coordinator } = deps;
  const ms = deps.config.lock_ms;
  let lost = false;
  const renew = () => coordinator.renew(key, owner, ms).then((held) => void (lost ||= !held), () => {}); // a failed call tells nothing
  const renewal = setInterval(() => void renew(), Math.max(1, ms / 3));
  renewal.unref();
  const release = () => {
    clearInterval(renewal);
    coordinator.release(key, owner).catch((err: unknown) => deps.storeError(err));
  };
  return Object.assign(release, { lost: () => lost });
}

/** A streamed leader on another replica, seen from here (./redis-flight-coordinator.ts keeps its live backlog). */
export interface RemoteFeed {
  /** Its live entries after `afterId` ('0': from the start). */
  read(afterId: string): Promise<Array<{ id: string; field: string; value: string }>>;
  /** Resolves at its next entry (or on cancel). */
  listen(): { done: Promise<void>; cancel(): void };
  /** Its answer, once cached. */
  answer(): Promise<CachedAnswer | null>;
  /** Takes the lock if its leader let go (done, or dead), keeping its backlog: the lock, else null. */
  takeOver(): Promise<KeyLock | null>;
}

/** For a stream: lead the key across replicas, take the answer already there, or follow the replica that leads it. */
export async function leadOrFollow(deps: ReplicaFlightDeps, key: string): Promise<Leadership | { remote: RemoteFeed }> {
  const { coordinator, config, read, timed } = deps;
  const owner = randomUUID();
  const take = async () => ((await timed(coordinator.tryLead(key, owner, config.lock_ms))) ? holdLock(deps, key, owner) : null);
  try {
    const lock = await take();
    if (lock) {
      const answer = await read(key); // stored by a leader that let go between our lookup and the lock
      if (!answer) return { lock };
      lock();
      return { answer };
    }
    await coordinator.ready(config.store_timeout_ms);
  } catch (err) {
    deps.onError(err);
    return { lock: null };
  }
  return {
    remote: {
      read: (afterId) => timed(coordinator.readLive(key, afterId)),
      listen: () => coordinator.listenLive(key),
      answer: () => read(key),
      // The backlog stays: a follower that takes over a dead leader's stream continues it there.
      takeOver: async () => ((await timed(coordinator.tryTakeOver(key, owner, config.lock_ms))) ? holdLock(deps, key, owner) : null),
    },
  };
}
