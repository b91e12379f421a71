// Where the response cache keeps its answers: completed ones in this process's L1 (bounded by
// bytes) and in the store's L2 that every replica shares, pending ones in L2 only. Store calls
// go through the guard (bounded, backed off after a failure); a lookup never fails a request.
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { answerBytes, decodeAnswer, encodeAnswer, type CachedAnswer } from './cached-answer.js';
import type { CacheStore } from './cache-store.js';
import { ByteLru } from './memory-lru.js';
import type { KeyLock } from './replica-flight.js';
import { StoreGuard } from './store-guard.js';

export interface Lookup {
  answer: CachedAnswer | null;
  /** False when the shared store could not be read: the request goes on as a bypass. */
  available: boolean;
}

export interface Held {
  answer: CachedAnswer;
  /** Teams already entitled to poll its generation, so L1 hits do not write grants again. */
  grantedTo: Set<string>;
}

export class AnswerTiers {
  readonly l1: ByteLru<Held>;
  private readonly guard: StoreGuard;

  constructor(
    config: Config['cache'],
    private readonly store: CacheStore,
    private readonly clock: Clock,
    storeError: (err: unknown) => void,
  ) {
    this.l1 = new ByteLru<Held>(config.memory_max_bytes, clock);
    this.guard = new StoreGuard(config.store_timeout_ms, storeError);
  }

  /** False while the shared store is failing (and left alone). */
  get available(): boolean {
    return this.guard.available;
  }

  /** The L2's answer for `key` (a completed one is kept in L1 too); throws when the store fails. */
  async read(key: string): Promise<CachedAnswer | null> {
    const raw = await this.guard.timed(this.store.get(key, this.clock.now()));
    return raw ? this.decode(key, raw) : null;
  }

  /** A stored value: its answer (completed ones kept in L1), or null if unreadable. */
  decode(key: string, raw: Buffer): CachedAnswer | null {
    const answer = decodeAnswer(raw);
    if (answer?.kind === 'completed') this.hold(key, answer);
    return answer;
  }

  private hold(key: string, answer: CachedAnswer): void {
    this.l1.set(key, { answer, grantedTo: new Set([answer.team]) }, answerBytes(key, answer), answer.expiresAt);
  }

  /** The L1's answer for `key`, if any (completed answers only). */
  held(key: string): CachedAnswer | null {
    return this.l1.get(key)?.answer ?? null;
  }

  /** L1, then L2. Pending entries live in L2 only, so every replica sees a job's completion. */
  async lookup(key: string): Promise<Lookup> {
    const held = this.l1.get(key);
    if (held) return { answer: held.answer, available: true };
    if (!this.guard.available) return { answer: null, available: false };
    try {
      return { answer: await this.read(key), available: true };
    } catch (err) {
      this.guard.fail(err);
      return { answer: null, available: false };
    }
  }

  /** Completed answers go to L1 and L2; pending ones to L2 only. With the key's lock: stored as it is let go, one step. */
  async write(key: string, answer: CachedAnswer, lock: KeyLock | null = null): Promise<void> {
    if (answer.kind === 'completed') this.hold(key, answer);
    if (!this.guard.available) return;
    try {
      const value = encodeAnswer(answer);
      const now = this.clock.now();
      await this.guard.timed(lock ? lock.store(value, answer.expiresAt, now) : this.store.set(key, value, answer.expiresAt, now));
    } catch (err) {
      this.guard.fail(err);
    }
  }

  /** Forgets `key`'s L2 entry; throws when the store fails. */
  delete(key: string): Promise<void> {
    return this.guard.timed(this.store.delete(key));
  }

  /** Bounds a store call by cache.store_timeout_ms. */
  timed<T>(work: Promise<T>): Promise<T> {
    return this.guard.timed(work);
  }

  /** A store failure: left alone for a while, and logged (throttled). */
  fail(err: unknown): void {
    this.guard.fail(err);
  }
}
