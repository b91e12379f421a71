// AccountStore on Redis, shared by every replica: the account's balance, its holds and the
// settled total under one hash tag (`{account}`), each decision one Lua script
// (./lua/account-scripts.ts), so it is atomic on one server and on a Cluster's one slot.
import type { RedisConnection } from '../store/connection.js';
import type { AccountStore } from './account-store.js';
import { accountExtendLua, accountObserveLua, accountReserveLua, accountSettleLua } from './lua/account-scripts.js';

const scripts = {
  egwAccountReserve: { numberOfKeys: 3, lua: accountReserveLua },
  egwAccountSettle: { numberOfKeys: 3, lua: accountSettleLua },
  egwAccountExtend: { numberOfKeys: 1, lua: accountExtendLua },
  egwAccountObserve: { numberOfKeys: 1, lua: accountObserveLua },
} as const;
type Arg = string | number;

export function createRedisAccountStore(conn: RedisConnection, options: { useRedisTime?: boolean } = {}): AccountStore {
  const { redis, prefix } = conn;
  for (const [name, def] of Object.entries(scripts)) redis.defineCommand(name, def);
  const call = redis as unknown as Record<keyof typeof scripts, (...a: Arg[]) => Promise<unknown>>;
  const useTime = options.useRedisTime ? '1' : '0';
  const state = `${prefix}acct:{account}:state`;
  const leases = `${prefix}acct:{account}:leases`;
  const holds = `${prefix}acct:{account}:holds`;

  return {
    async reserve(id, amount, floor, leaseMs, now) {
      const [verdict, spendable] = (await call.egwAccountReserve(state, leases, holds, id, amount, floor, leaseMs, now, useTime)) as [
        string,
        string?,
      ];
      return verdict === 'ok' ? { ok: true } : { ok: false, spendable: Number(spendable) };
    },
    async settle(id, actual) {
      await call.egwAccountSettle(state, leases, holds, id, actual);
    },
    async extend(id, leaseMs, now) {
      await call.egwAccountExtend(leases, id, leaseMs, now, useTime);
    },
    mark: async () => Number((await redis.hget(state, 'settled')) ?? 0),
    async observe(balance, mark) {
      await call.egwAccountObserve(state, balance, mark);
    },
    async exhausted() {
      await call.egwAccountObserve(state, 0, '');
    },
  };
}
