// Tokens spent are counted where the ledger counts them: at settlement, wherever it happens
// (the generate answer, a client's poll, the reconciler, a stream's end). This wraps a
// QuotaStore so a listener hears each settlement that was written, exactly once.
import type { QuotaStore, SettleInput } from '../quota/quota-store.js';

export function observeSettlements(store: QuotaStore, onSettled: (input: SettleInput) => void): QuotaStore {
  return {
    ...store,
    async settle(input) {
      const settled = await store.settle(input);
      if (settled) onSettled(input);
      return settled;
    },
  };
}
