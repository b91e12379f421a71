// The account's spendable balance, reserved like a budget so that every replica together stays
// above `quota.account_floor`: a hold per request in flight, lowered by each settlement,
// refreshed from upstream's balance. On Redis it is shared (./redis-account-store.ts); on SQLite
// (one instance) it lives in memory here. Upstream's reading is the truth it returns to.

export type AccountHold = { ok: true } | { ok: false; /** What is left above the floor. */ spendable: number };

export interface AccountStore {
  /**
   * Holds `amount` unless balance - settled since its reading - held - amount < floor; a hold
   * ends when settled or when its lease runs out. With no balance read yet, nothing is checked.
   */
  reserve(id: string, amount: number, floor: number, leaseMs: number, now: number): Promise<AccountHold>;
  /** Ends the hold (if still held) and lowers the balance by what upstream charged. */
  settle(id: string, actual: number, now: number): Promise<void>;
  /** Keeps a hold for longer (pending jobs). */
  extend(id: string, leaseMs: number, now: number): Promise<void>;
  /** Read before asking upstream for the balance; pass it to `observe`. */
  mark(): Promise<number>;
  /**
   * Upstream's balance, read after `mark` was taken: settlements counted since the mark are
   * subtracted from it (some twice, on the safe side, until the next reading). An older
   * reading than the one stored is ignored.
   */
  observe(balance: number, mark: number): Promise<void>;
  /** Upstream answered 402: nothing is left until the next reading. */
  exhausted(): Promise<void>;
}

/** The one-instance AccountStore (SQLite backend): the same arithmetic as the Redis scripts. */
export function createMemoryAccountStore(): AccountStore {
  let balance: number | null = null;
  let readMark = 0;
  let settled = 0;
  const holds = new Map<string, { amount: number; until: number }>();
  // The sum of the holds and the earliest lease end among them: a reserve walks the holds only
  // once a lease may have run out, not on every request (pending jobs keep holds for minutes).
  let heldTotal = 0;
  let nextEnd = Infinity;
  const held = (now: number) => {
    if (now < nextEnd) return heldTotal;
    heldTotal = 0;
    nextEnd = Infinity;
    for (const [id, hold] of holds) {
      if (hold.until <= now) holds.delete(id);
      else {
        heldTotal += hold.amount;
        nextEnd = Math.min(nextEnd, hold.until);
      }
    }
    return heldTotal;
  };
  return {
    async reserve(id, amount, floor, leaseMs, now) {
      if (balance === null) return { ok: true };
      const spendable = balance - (settled - readMark) - held(now) - floor;
      if (amount > spendable) return { ok: false, spendable };
      heldTotal += amount - (holds.get(id)?.amount ?? 0); // a hold made again replaces the first
      holds.set(id, { amount, until: now + leaseMs });
      nextEnd = Math.min(nextEnd, now + leaseMs);
      return { ok: true };
    },
    async settle(id, actual) {
      // The total is the sum of the holds in the map (a walk removes the ended ones with their amounts).
      const hold = holds.get(id);
      if (hold) {
        holds.delete(id);
        heldTotal -= hold.amount;
      }
      settled += actual;
    },
    async extend(id, leaseMs, now) {
      const hold = holds.get(id);
      if (hold && hold.until > now) hold.until = Math.max(hold.until, now + leaseMs);
    },
    mark: async () => settled,
    async observe(value, mark) {
      if (balance !== null && mark < readMark) return;
      balance = value;
      readMark = mark;
    },
    async exhausted() {
      balance = 0;
      readMark = settled;
    },
  };
}
