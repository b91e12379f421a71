// Counts that cost nothing (cache hits, coalesced answers, tokens saved) are gathered in memory
// per (day, team, model, key) and written to the ledger in one batch every flush interval and on
// close, so the hit path never waits on the store. A crash loses at most one interval of
// these counts, never a charge (charges are written by settlement, atomically). A row whose
// write failed is sent again unchanged, under the flush number it was first sent with, so a
// write that landed though its reply was lost is not counted twice; until it is confirmed, its
// (team, day)'s newer counts wait, merged per group, so an outage holds at most two rows a group.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { SavingsNotWritten, type QuotaStore, type SavingsRow, type SavingsWrite } from '../quota/quota-store.js';
import { ledgerDay } from '../quota/periods.js';

export type SavingKind = 'hit' | 'coalesced';

/** After a failed write the counts are kept for the next flush, up to this many groups and rows. */
const MAX_PENDING_GROUPS = 100_000;

/** A row's (team, day): the store applies a writer's flushes in order per (team, day). */
const place = (row: SavingsRow) => `${row.day}\0${row.team}`;

export class SavingsLedger {
  private pending = new Map<string, SavingsRow>();
  /** Rows sent whose write was not confirmed: sent again as they are (their counts may have landed). */
  private unconfirmed: SavingsWrite[] = [];
  /** This process's flushes, as the store tells them apart: one writer id, a flush number. */
  private readonly writer = randomUUID();
  private flushes = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<QuotaStore, 'addSavings'>,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** One answer served without spending to `keyId`'s request: `tokensSaved` is what upstream would have charged. */
  record(team: string, model: string, kind: SavingKind, tokensSaved: number, keyId = ''): void {
    const row = this.row(team, model, keyId);
    if (!row) return;
    if (kind === 'hit') row.hits++;
    else row.coalesced++;
    row.tokens_saved += Math.max(0, tokensSaved);
  }

  private row(team: string, model: string, keyId: string): SavingsRow | null {
    const day = ledgerDay(this.clock.now());
    // Unambiguous: a team (a slug) and a key id never hold a NUL, and the model, which may, comes last.
    const group = `${day}\0${team}\0${keyId}\0${model}`;
    let row = this.pending.get(group);
    if (!row) {
      if (this.pending.size + this.unconfirmed.length >= MAX_PENDING_GROUPS) return null;
      row = { team, key: keyId, model, day, hits: 0, coalesced: 0, tokens_saved: 0 };
      this.pending.set(group, row);
    }
    return row;
  }

  /** A saving known only later (a shared job's cost once it ended): tokens only, its request was counted then. */
  addSaved(team: string, model: string, tokensSaved: number, keyId = ''): void {
    const row = this.row(team, model, keyId);
    if (row) row.tokens_saved += Math.max(0, tokensSaved);
  }

  /** Groups counted but not yet written, and rows sent again until their write is confirmed. */
  get pendingGroups(): number {
    return this.pending.size + this.unconfirmed.length;
  }

  /** The (team, day)s with a flush not confirmed: until it is, only that flush is sent for them. */
  private held(): Set<string> {
    return new Set(this.unconfirmed.map(place));
  }

  /** Writes what was counted since the last flush; on failure keeps it for the next one. */
  flush(): Promise<void> {
    // One write at a time: a slow store must not get overlapping batches of the same counts.
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0 && this.unconfirmed.length === 0) return;
    // A (team, day) with an unconfirmed flush gets that flush again, alone: its newer counts stay
    // pending (merged per group) until it is confirmed, as the store skips a flush number at or
    // below the last it applied for the (team, day). The others go out under a new number.
    const held = this.held();
    const kept = new Map<string, SavingsRow>();
    const fresh: SavingsRow[] = [];
    for (const [group, row] of this.pending) {
      if (held.has(place(row))) kept.set(group, row);
      else fresh.push(row);
    }
    const seq = fresh.length > 0 ? ++this.flushes : 0;
    const batch = [...this.unconfirmed, ...fresh.map((row) => ({ ...row, writer: this.writer, seq }))];
    this.pending = kept;
    this.unconfirmed = [];
    try {
      await this.store.addSavings(batch);
    } catch (err) {
      this.onError(err);
      // What was written stays written: only the rest is sent again, never merged with newer
      // counts (the store skips a flush it applied before, so it must be the same counts).
      const unwritten = err instanceof SavingsNotWritten ? new Set(err.unwritten) : null;
      this.unconfirmed = unwritten ? batch.filter((row) => unwritten.has(row)) : batch;
    }
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs).unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushing) await this.flushing; // a write already under way
    await this.flush(); // what was counted meanwhile, or what that write failed to store
    // Counts held back behind a flush sent again, now confirmed.
    const held = this.held();
    if ([...this.pending.values()].some((row) => !held.has(place(row)))) await this.flush();
  }
}
