// The one in-flight registry of a replica, for plain and streamed requests alike: while one
// request for a key is on its way (upstream, or waiting on another replica's call), identical
// requests wait for its answer instead of going themselves. A streamed flight also carries its
// live broadcast, so a streamed twin relays its events and a plain twin gets its final result.
import { systemTimers, type Timers } from '../clock.js';
import type { Broadcast } from '../stream/broadcast.js';
import type { CachedAnswer } from './cached-answer.js';

/** What a flight hands its waiters: an answer to share, or null (none: they try the key's next flight). */
export type Shared = CachedAnswer | null;

/** A waiter whose leaders end with nothing to share tries this many flights before going alone. */
export const JOIN_ATTEMPTS = 3;

/** What a waiter makes of a flight that ended with nothing for it: try the key's next flight. */
export const AGAIN = Symbol('again');

/** Where `meet` leaves a request: what it made of a flight, or its turn to call upstream (`handle` null: alone, outside any flight). */
export type Met<T> = { made: T } | { handle: FlightHandle | null };

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
   * The one way a request meets its key's flights here, plain or streamed. It waits on the one in
   * progress (`wait`: what it makes of it, AGAIN if it ended with nothing to share, null to stop
   * waiting); with none, it leads: a flight (carrying `broadcast`) is opened for it in the same
   * step as the look, so of twins let down together one leads and the others wait on it. After
   * JOIN_ATTEMPTS flights, or once it stops waiting, it leads a new flight if none is there, else
   * goes alone (handle null: past its bound on a leader still at it).
   */
  async meet<T>(key: string, wait: (flight: Flight) => Promise<T | typeof AGAIN | null>, broadcast: Broadcast | null = null): Promise<Met<T>> {
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      const flight = this.join(key);
      if (!flight) return { handle: this.open(key, broadcast) };
      const made = await wait(flight);
      if (made === null) break;
      if (made !== AGAIN) return { made };
    }
    return { handle: this.join(key) ? null : this.open(key, broadcast) };
  }

  /**
   * Runs `work` as the flight `handle` (from `meet`). `work` calls `share` as soon as its answer is known,
   * so waiters need not wait for the rest of its work; if it never does (or throws), waiters get null.
   */
  async lead<T>(handle: FlightHandle, work: (share: (answer: Shared) => void) => Promise<T>): Promise<T> {
    try {
      return await work(handle.share);
    } finally {
      handle.share(null);
    }
  }
}

/**
 * One bound over every flight a waiter tries, counted from its first wait: however many of
 * its leaders end with nothing to share, it waits no longer than one of them may take.
 */
export class Deadline {
  private passed: Promise<null> | null = null;
  private cancel = () => {};

  constructor(
    private readonly ms: number,
    private readonly timers: Timers = systemTimers,
  ) {}

  /** `promise`'s value, or null once the deadline has passed. */
  race<T>(promise: Promise<T>): Promise<T | null> {
    this.passed ??= new Promise<null>((resolve) => (this.cancel = this.timers.after(this.ms, () => resolve(null))));
    return Promise.race([promise, this.passed]);
  }

  /** Done waiting: frees the timer. */
  end(): void {
    this.cancel();
  }
}

/** Waits for `flight`'s answer until `deadline`: the answer, AGAIN if it ended with none to share, null while still in flight. */
export function awaitFlight(flight: Flight, deadline: Deadline): Promise<CachedAnswer | typeof AGAIN | null> {
  return deadline.race(flight.shared.then((shared) => shared ?? AGAIN));
}

/** Waits for `promise` at most `ms` (on `timers`: real ones unless a test injects its clock); null on timeout. */
export async function within<T>(promise: Promise<T>, ms: number, timers: Timers = systemTimers): Promise<T | null> {
  const deadline = new Deadline(ms, timers);
  try {
    return await deadline.race(promise);
  } finally {
    deadline.end();
  }
}
