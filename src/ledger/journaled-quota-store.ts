// The quota store behind the settlement journal (./settlement-journal.ts): a settlement the
// store refuses is journaled and replayed, one its replicas did not confirm is kept until they
// do, and a team's journaled settlements are replayed before its next reservation.
import type { QuotaStore } from '../quota/quota-store.js';
import { ReplicasBehind } from '../store/replica-wait.js';
import type { SettlementJournal } from './settlement-journal.js';

/**
 * The quota store behind the journal: a settlement the store cannot take is journaled (and
 * counts as taken), and a team with journaled settlements has them replayed before its next
 * reservation on this replica, so its `spent` is current before anything more is reserved.
 */
export function journaled(store: QuotaStore, journal: SettlementJournal): QuotaStore {
  return {
    ...store,
    async reserve(input) {
      if (journal.has(input.team)) await journal.replay();
      return store.reserve(input);
    },
    async settle(input) {
      try {
        return await store.settle(input);
      } catch (err) {
        // On the master, not confirmed on its replicas: settled, and kept until they have it.
        if (err instanceof ReplicasBehind) {
          journal.record(input, { epoch: err.epoch });
          return err.settled;
        }
        journal.record(input);
        throw new JournaledSettlement(err);
      }
    },
  };
}

/** The store refused a settlement and the journal took it: reported as a store error, never lost. */
export class JournaledSettlement extends Error {
  override name = 'JournaledSettlement';
  constructor(cause: unknown) {
    super('settlement journaled until the store answers', { cause });
  }
}
