// The in-process L1: a least-recently-used map bounded by bytes, not entries, with expiry read
// from the gateway's injected clock. It must never hold more than its byte budget, whatever
// the number of distinct prompts.
//
// Why not @cacheable/memory (cacheable 2's in-memory layer) or keyv's memory store: their LRU
// (`lruSize`) bounds the number of entries, not bytes, so a few large answers could take any
// amount of memory; and their expiry compares with Date.now(), which the gateway's injected
// Clock cannot drive (TTL tests and the L2 must agree on one time). A JS Map keeps insertion
// order, so "delete then set" on each hit is an LRU in a few lines.
import type { Clock } from '../clock.js';

interface Slot<V> {
  value: V;
  bytes: number;
  expiresAt: number;
}

export class ByteLru<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private used = 0;
  /** One entry may take at most this share of the budget, so one answer cannot flush the rest. */
  readonly maxEntryBytes: number;

  constructor(
    readonly maxBytes: number,
    private readonly clock: Clock,
  ) {
    this.maxEntryBytes = Math.floor(maxBytes / 16);
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.slots.size;
  }

  get(key: string): V | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    if (slot.expiresAt <= this.clock.now()) {
      this.used -= slot.bytes;
      return undefined;
    }
    this.slots.set(key, slot); // most recently used goes last
    return slot.value;
  }

  /** Stores `value` until `expiresAt`; returns false when it is too large to keep in memory. */
  set(key: string, value: V, bytes: number, expiresAt: number): boolean {
    this.delete(key);
    if (bytes > this.maxEntryBytes || expiresAt <= this.clock.now()) return false;
    this.slots.set(key, { value, bytes, expiresAt });
    this.used += bytes;
    for (const [oldest, slot] of this.slots) {
      if (this.used <= this.maxBytes) break;
      this.slots.delete(oldest);
      this.used -= slot.bytes;
    }
    return true;
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    this.used -= slot.bytes;
  }

  clear(): void {
    this.slots.clear();
    this.used = 0;
  }
}
