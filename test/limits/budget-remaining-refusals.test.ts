// x-gateway-budget-remaining on the answers to POST /api/v2/generate that the gateway refuses
// for a limit (402, 403, 429): the contract says every answer carries it, and a client that
// throttles itself by it needs it most on a refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('x-gateway-budget-remaining on refusals', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  const ask = (key: string, prompt: string, model = 'gpt-5') => gw.api('POST', '/api/v2/generate', key, { model, prompt });

  it('a key budget refusal (402) says what is left', async () => {
    const key = await gw.team('rb', { budget: { tokens: 100, period: 'month' } });
    const id = (await gw.admin('GET', '/admin/keys?team=rb')).json().keys[0].id as string;
    await gw.admin('PATCH', `/admin/keys/${id}`, { budget: { tokens: 3 } });
    expect((await ask(key, 'first')).headers['x-gateway-budget-remaining']).toBe('1'); // gpt-5 costs 2
    const refused = await ask(key, 'second');
    expect(refused.status).toBe(402);
    expect(refused.json().details).toMatchObject({ scope: 'key', remaining: 1 });
    expect(refused.headers['x-gateway-budget-remaining']).toBe('1');
  });

  it('a rate limit refusal (429) and a model refusal (403) say it too', async () => {
    const key = await gw.team('rr', { budget: { tokens: 50, period: 'month' }, rate_limit: { requests_per_minute: 1 }, allowed_models: ['gpt-5'] });
    expect((await ask(key, 'rr first')).status).toBe(200);
    const limited = await ask(key, 'rr second');
    expect(limited.status).toBe(429);
    expect(limited.headers['x-gateway-budget-remaining']).toBe('48');
    const model = await ask(key, 'rr third', 'dall-e-3');
    expect(model.status).toBe(403);
    expect(model.headers['x-gateway-budget-remaining']).toBe('48');
  });

  it('an answer refused before the key is known (401) carries none', async () => {
    const refused = await ask('nb_gw_unknown', 'who');
    expect(refused.status).toBe(401);
    expect(refused.headers).not.toHaveProperty('x-gateway-budget-remaining');
  });
});
