// In-process single-flight: while one request for a key is on its way (upstream, or waiting
// on another replica's call), identical requests in this process wait for its answer instead
// of going themselves. A map of promises; every wait is bounded by the caller.
import type { CachedAnswer } from './cached-answer.js';

/** What a flight hands its waiters: an answer to share, or null (no shareable answer: go yourself). */
export type Shared = CachedAnswer | null;

export class SingleFlight {
  private readonly flights = new Map<string, Promise<Shared>>();

  get size(): number {
    return this.flights.size;
  }

  /** The flight in progress for `key`, if any. */
  join(key: string): Promise<Shared> | undefined {
    return this.flights.get(key);
  }

  /**
   * Runs `work` as the flight for `key`. `work` calls `share` as soon as its answer is known,
   * so waiters need not wait for the rest of its work; if it never does (or throws), waiters get null.
   */
  async lead<T>(key: string, work: (share: (answer: Shared) => void) => Promise<T>): Promise<T> {
    let settle!: (answer: Shared) => void;
    const flight = new Promise<Shared>((resolve) => (settle = resolve));
    this.flights.set(key, flight);
    const share = (answer: Shared) => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      settle(answer);
    };
    try {
      return await work(share);
    } finally {
      share(null);
    }
  }
}

/** Waits for `promise` at most `ms` of real time; null on timeout. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
