// The one in-flight registry of a replica, for plain and streamed requests alike: while one
// request for a key is on its way (upstream, or waiting on another replica's call), identical
// requests wait for its answer instead of going themselves. A streamed flight also carries its
// live broadcast, so a streamed twin relays its events and a plain twin gets its final result.
import { systemTimers, type Timers } from '../clock.js';
import type { Broadcast } from '../stream/broadcast.js';
import type { CachedAnswer } from './cached-answer.js';

/** What a flight hands its waiters: an answer to share, or null (no shareable answer: go yourself). */
export type Shared = CachedAnswer | null;

export interface Flight {
  /** Resolves with the answer as soon as it is known (or null). */
  readonly shared: Promise<Shared>;
  /** A streamed flight's events (from upstream, or relayed from another replica); null for a plain one. */
  readonly broadcast: Broadcast | null;
}

/** The leader's side of a flight: `share` hands the answer to its waiters and unregisters it (first call counts). */
export interface FlightHandle extends Flight {
  share(answer: Shared): void;
}

export class SingleFlight {
  private readonly flights = new Map<string, Flight>();

  get size(): number {
    return this.flights.size;
  }

  /** The flight in progress for `key`, if any. */
  join(key: string): Flight | undefined {
    return this.flights.get(key);
  }

  /** Registers a flight for `key` now (synchronously: the next identical request finds it). */
  open(key: string, broadcast: Broadcast | null = null): FlightHandle {
    let settle!: (answer: Shared) => void;
    const shared = new Promise<Shared>((resolve) => (settle = resolve));
    const handle: FlightHandle = {
      shared,
      broadcast,
      share: (answer) => {
        if (this.flights.get(key) === handle) this.flights.delete(key);
        settle(answer);
      },
    };
    this.flights.set(key, handle);
    return handle;
  }

  /**
   * Runs `work` as the flight for `key`. `work` calls `share` as soon as its answer is known,
   * so waiters need not wait for the rest of its work; if it never does (or throws), waiters get null.
   */
  async lead<T>(key: string, work: (share: (answer: Shared) => void) => Promise<T>): Promise<T> {
    const handle = this.open(key);
    try {
      return await work(handle.share);
    } finally {
      handle.share(null);
    }
  }
}

/** Waits for `promise` at most `ms` (on `timers`: real ones unless a test injects its clock); null on timeout. */
export async function within<T>(promise: Promise<T>, ms: number, timers: Timers = systemTimers): Promise<T | null> {
  let cancel = () => {};
  const timeout = new Promise<null>((resolve) => (cancel = timers.after(ms, () => resolve(null))));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel();
  }
}
