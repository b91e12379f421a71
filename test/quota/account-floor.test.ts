// The account floor across replicas: the account's balance is held in the store like a
// budget, so concurrent requests on every instance together stop at quota.account_floor
// (402 insufficient_tokens, scope account), and what upstream charged is what the ledger says.
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, startReplica, type TestGateway } from '../helpers/gateway.js';

const FLOOR = 1_000;

describe('the account floor', () => {
  let instances: TestGateway[] = [];
  afterEach(async () => {
    const [a, b] = instances;
    await b?.close();
    await a?.close();
    instances = [];
  });

  it.each(['sqlite', 'redis', 'redis-sentinel', 'redis-cluster'] as const)(
    '60 concurrent requests against a balance 20 requests above the floor leave it at the floor (%s)',
    async (backend) => {
      // gpt-5 costs 2 tokens: the balance covers exactly 20 requests above the floor.
      const config = { quota: { account_floor: FLOOR } };
      const a = await startGateway({ backend, simOptions: { balance: FLOOR + 40 }, config });
      instances = [a];
      if (backend !== 'sqlite') {
        // A second instance on the same store (SQLite serves one instance).
        instances.push(await startReplica(a, { config }));
      }
      const key = await a.team('ml');
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          instances[i % instances.length].api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `floor ${i}` }),
        ),
      );
      const refused = answers.filter((x) => x.status === 402);
      expect(answers.filter((x) => x.status === 200)).toHaveLength(20);
      expect(refused).toHaveLength(40);
      for (const r of refused) expect(r.json()).toMatchObject({ error: 'insufficient_tokens', details: { scope: 'account' } });
      expect(a.sim.balance()).toBe(FLOOR);
      expect(a.sim.totalGenerateCalls()).toBe(20);
      expect(await a.usage('ml')).toMatchObject({ spent: 40, reserved: 0 });
    },
  );
});
