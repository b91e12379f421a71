// Single-flight across replicas sharing Redis: one atomic look at a key finds its stored
// answer or takes its lock (renewed while the upstream call runs); else another replica leads
// and this one waits for it, woken by its announcement or by polling. A leader that dies lets
// its lock expire and a waiter takes over; past its bound a waiter goes upstream itself.
// Nothing here may make a request wait forever.
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
  /** A stored value found by a look: its answer (kept in memory), or null if unreadable. */
  decode(key: string, raw: Buffer): CachedAnswer | null;
  /** Bounds a store call by cache.store_timeout_ms. */
  timed<T>(work: Promise<T>): Promise<T>;
  /** A store failure: the cache backs off and logs (throttled). */
  onError(err: unknown): void;
  storeError(err: unknown): void;
}

/**
 * A held lock on a key: calling it releases it and announces (once; later calls do nothing).
 * `store` stores the answer, releases and announces in one step. `lost()` turns true once a
 * renewal found it gone or another's (this replica stalled past lock_ms and a follower took
 * over): a streamed leader then stops mirroring, so two writers never interleave one backlog.
 */
export type KeyLock = (() => void) & {
  lost(): boolean;
  store(value: Buffer, expiresAt: number, now: number): Promise<void>;
};

/** Another replica's answer, or the go-ahead to call upstream (holding the lock, or without one). */
export type Leadership = { answer: CachedAnswer } | { lock: KeyLock | null };

/**
 * What the shared store says to the request leading a key on this replica (./response-cache.ts):
 * its stored answer, or go upstream (holding the key's lock on Redis), or `follow` the replica that leads.
 */
export type StoreLook =
  | { answer: CachedAnswer }
  | { lock: KeyLock | null; available: boolean }
  | { follow(boundMs: number): Promise<Leadership> };

/** One request's part in a key's flight across replicas. */
export class KeyFlight {
  private readonly owner = randomUUID();

  constructor(
    private readonly deps: ReplicaFlightDeps,
    private readonly key: string,
  ) {}

  /** One atomic look: the stored answer, or the lock (this request leads), or null (another replica leads). Throws on a store failure. */
  async look(): Promise<Leadership | null> {
    const { coordinator, config, clock, timed } = this.deps;
    const seen = await timed(coordinator.readOrLead(this.key, this.owner, config.lock_ms, clock.now()));
    if ('value' in seen) {
      const answer = this.deps.decode(this.key, seen.value);
      return answer ? { answer } : { lock: null }; // unreadable (a foreign value): go without coordinating
    }
    return seen.led ? { lock: holdLock(this.deps, this.key, this.owner) } : null;
  }

  /** Waits for the replica that leads: its answer, or the lock once it lets go without one, or no lock past `boundMs`. */
  async follow(boundMs: number): Promise<Leadership> {
    const { coordinator, config, clock } = this.deps;
    try {
      await coordinator.ready(config.store_timeout_ms);
      const deadline = clock.now() + boundMs;
      for (;;) {
        const signal = coordinator.listen(this.key); // listen before looking, so no announcement is missed
        try {
          const seen = await this.look();
          if (seen) return seen;
          const left = deadline - clock.now();
          if (left <= 0) return { lock: null };
          await within(signal.done, Math.min(config.poll_ms, left), this.deps.timers);
        } finally {
          signal.cancel();
        }
      }
    } catch (err) {
      this.deps.onError(err);
      return { lock: null };
    }
  }

  /** Takes the lock if its leader let go (done, or dead), keeping its live backlog: the lock, else null. */
  async takeOver(): Promise<KeyLock | null> {
    const { coordinator, config, timed } = this.deps;
    return (await timed(coordinator.tryTakeOver(this.key, this.owner, config.lock_ms))) ? holdLock(this.deps, this.key, this.owner) : null;
  }
}

/** Renews the lock while the leader's call runs; the returned function releases it and announces. */
function holdLock(deps: ReplicaFlightDeps, key: string, owner: string): KeyLock {
  const { coordinator } = deps;
  const ms = deps.config.lock_ms;
  let lost = false;
  let released = false;
  const renew = () => coordinator.renew(key, owner, ms).then((held) => void (lost ||= !held), () => {}); // a failed call tells nothing
  const renewal = setInterval(() => void renew(), Math.max(1, ms / 3));
  renewal.unref();
  const release = () => {
    clearInterval(renewal);
    if (released) return;
    released = true;
    coordinator.release(key, owner).catch((err: unknown) => deps.storeError(err));
  };
  const store = async (value: Buffer, expiresAt: number, now: number) => {
    clearInterval(renewal);
    await coordinator.release(key, owner, { value, expiresAt, now });
    released = true; // a failed store leaves the plain release to the caller
  };
  return Object.assign(release, { lost: () => lost, store });
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
  const { coordinator, config, timed } = deps;
  const flight = new KeyFlight(deps, key);
  try {
    const seen = await flight.look();
    if (seen) return seen;
    await coordinator.ready(config.store_timeout_ms);
  } catch (err) {
    deps.onError(err);
    return { lock: null };
  }
  return {
    remote: {
      read: (afterId) => timed(coordinator.readLive(key, afterId)),
      listen: () => coordinator.listenLive(key),
      answer: () => deps.read(key),
      // The backlog stays: a follower that takes over a dead leader's stream continues it there.
      takeOver: () => flight.takeOver(),
    },
  };
}
