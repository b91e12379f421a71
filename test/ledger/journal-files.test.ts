// Two processes never share one settlement journal: the default file carries host and pid, a
// second journal on a file in use is refused, and the journals of replicas that died (a dead pid
// on this host, or a lock left unrefreshed by another host) are claimed by the next replica to
// start in the directory and replayed: their charges reach the ledger. A live replica's is left alone.
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ownJournalFile } from '../../src/ledger/journal-files.js';
import { SettlementJournal } from '../../src/ledger/settlement-journal.js';
import { ledgerDay, periodOf } from '../../src/quota/periods.js';
import type { Reservation } from '../../src/quota/quota-service.js';
import type { SettleInput } from '../../src/quota/quota-store.js';
import { journalFile } from '../../src/services.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { backends, cleanup } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const sqlite = backends.find((b) => b.name === 'sqlite')!;
const DEFAULT_JOURNAL = { quota: { settlement_journal: '' } }; // the default: a file of the process's own

function settlementOf(r: Reservation, actual: number): SettleInput {
  const now = Date.now();
  return {
    team: r.team, reservationId: r.id, actual, outcome: 'completed', periodId: periodOf(r.period, now).id, model: r.model,
    day: ledgerDay(now), now, key: r.key ? { id: r.key.id, periodId: periodOf(r.key.period, now).id } : null, tokenWindows: r.tokenWindows ?? [],
  };
}

/** Leaves `input` in a journal file at `path`, as a process whose store was down when it answered; its lock says `owner`. */
function leaveJournal(path: string, input: SettleInput, owner: { host: string; pid: number; started: number }, lockAgeMs = 0): void {
  const journal = new SettlementJournal({
    path,
    settle: () => Promise.reject(new Error('store down')),
    keepPending: () => Promise.reject(new Error('store down')),
    onError: () => {},
  });
  journal.record(input);
  journal.stop();
  writeFileSync(`${path}.lock`, JSON.stringify(owner));
  const at = new Date(Date.now() - lockAgeMs);
  utimesSync(`${path}.lock`, at, at);
}

describe('journal files', () => {
  let conn: StoreConnection | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    if (conn) await cleanup(conn);
    gw = conn = undefined;
  });

  it('the default file is one per process, and a second journal on a file in use is refused', async () => {
    conn = await sqlite.open();
    gw = await startGateway({ store: conn, config: DEFAULT_JOURNAL });
    const { path, family } = journalFile(gw.app.services.config, conn);
    expect(path).toBe(ownJournalFile(family!));
    expect(path).toContain(`.${process.pid}.journal`);
    expect(ownJournalFile(family!, 'replica-a', 7)).not.toBe(ownJournalFile(family!, 'replica-b', 7));
    expect(existsSync(`${path}.lock`)).toBe(true);
    // Another replica in the same directory on the same store (here: in this very process) may not take it.
    const second = () => new SettlementJournal({ path, settle: async () => true, keepPending: async () => {}, onError: () => {} });
    expect(second).toThrow(/in use by process \d+/);
    await gw.close();
    gw = undefined;
    expect(existsSync(`${path}.lock`)).toBe(false); // a clean stop gives it up
  });

  it('a journal directory it cannot write does not stop the start: entries are kept in memory, the error reported', () => {
    const errors: unknown[] = [];
    const notADir = join(mkdtempSync(join(tmpdir(), 'egw-journal-ro-')), 'a-file');
    writeFileSync(notADir, '');
    const journal = new SettlementJournal({
      path: join(notADir, 'settlements.journal'), // its directory cannot be made: a file is in the way
      settle: () => Promise.reject(new Error('store down')),
      keepPending: () => Promise.reject(new Error('store down')),
      onError: (err) => errors.push(err),
    });
    expect(errors.length).toBeGreaterThan(0);
    journal.close();
    rmSync(dirname(notADir), { recursive: true, force: true });
  });

  it("replicas that died left journals: the next one to start claims and replays them; a live replica's is left alone", async () => {
    conn = await sqlite.open();
    if (conn.kind !== 'sqlite') throw new Error('sqlite expected');
    gw = await startGateway({ store: conn, config: DEFAULT_JOURNAL });
    const key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
    const principal = (await gw.app.services.auth.authenticate(key))!;
    const reservations = await Promise.all([5, 7, 11].map(() => gw!.app.services.quota.reserve(principal, 'gpt-5', 20)));
    const family = journalFile(gw.app.services.config, conn).family!;
    await gw.close();
    gw = undefined;

    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is free
    const sameHostDead = ownJournalFile(family, hostname(), deadPid);
    const otherHostSilent = ownJournalFile(family, 'replica-b', 1);
    const otherHostLive = ownJournalFile(family, 'replica-c', 1);
    leaveJournal(sameHostDead, settlementOf(reservations[0], 5), { host: hostname(), pid: deadPid, started: 0 });
    leaveJournal(otherHostSilent, settlementOf(reservations[1], 7), { host: 'replica-b', pid: 1, started: 0 }, 60_000);
    leaveJournal(otherHostLive, settlementOf(reservations[2], 11), { host: 'replica-c', pid: 1, started: 0 });

    gw = await startGateway({ store: conn, config: DEFAULT_JOURNAL });
    const journal = gw.app.services.journal;
    expect(journal.adopted).toBe(2);
    await journal.replay();
    expect(journal.size).toBe(0);
    expect(await gw.usage('ml')).toMatchObject({ spent: 12, reserved: 20 }); // the live replica's reservation stays its own
    const rows = await gw.app.services.quotaStore.ledger('2000-01-01', '2999-12-31');
    expect(rows.reduce((sum, row) => sum + row.tokens_spent, 0)).toBe(12);
    // The dead replicas' files are gone; the live one's file and lock are untouched.
    const left = readdirSync(dirname(sameHostDead));
    for (const gone of [sameHostDead, otherHostSilent]) {
      expect(left).not.toContain(basename(gone));
      expect(left).not.toContain(`${basename(gone)}.lock`);
    }
    expect(existsSync(otherHostLive)).toBe(true);
    expect(existsSync(`${otherHostLive}.lock`)).toBe(true);
    expect(left.filter((name) => name.includes('claimed'))).toEqual([]);
    expect(existsSync(ownJournalFile(family))).toBe(false); // replayed: emptied, removed
  });
});
