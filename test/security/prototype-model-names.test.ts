// Regression: a model named after a member of Object.prototype (`constructor`, `toString`,
// `__proto__`, ...) found that member as its configured estimate (`quota.estimates[model]`), so
// the reservation carried a function and the store refused it: 503 store_unavailable to the
// team, a store error counted (and the store_unavailable alert armed) while the store was fine.
// Such a model is unknown like any other: forwarded, and upstream answers it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';

const storeErrors = async (gw: TestGateway) =>
  Number(/^elumenta_gateway_store_errors_total (\d+)/m.exec((await call(gw.url, 'GET', '/metrics')).text)?.[1] ?? 0);

describe.each(backends)('model names from Object.prototype on $name', ({ name }) => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({ backend: name, config: { quota: { estimates: { 'gpt-5': 7 } } } });
    key = await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it.each(['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty'])(
    'model %s is forwarded and answered by upstream (404 unknown model), with no store error',
    async (model) => {
      for (const path of ['/api/v2/generate', '/api/v2/generate/stream']) {
        const before = gw.sim.totalGenerateCalls();
        const res = await gw.api('POST', path, key, { model, prompt: `a model named ${model}` });
        expect(res.status).toBe(404);
        expect(res.json()).toMatchObject({ error: 'not_found' }); // the simulator's: no such model
        expect(gw.sim.totalGenerateCalls()).toBe(before + 1);
      }
      expect(await storeErrors(gw)).toBe(0);
      expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 0 });
    },
  );

  it('a configured estimate still applies to its own model', async () => {
    expect(gw.app.services.quota.estimate('gpt-5')).toBe(7);
    expect(gw.app.services.quota.estimate('constructor')).toBe(gw.app.services.config.quota.default_estimate);
  });
});
