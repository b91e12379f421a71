// Per-key limits on the request path, on SQLite and on two gateway instances sharing one
// store: a key's budget, its allowed models, token rates and the request ceiling, decided in
// the same atomic reservation as the team's budget; counted against the simulator's calls.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, startReplica, type TestGateway } from '../helpers/gateway.js';

const ask = (gw: TestGateway, key: string, prompt: string, model = 'gpt-5') =>
  gw.api('POST', '/api/v2/generate', key, { model, prompt });

describe.each(['sqlite', 'redis'] as const)('key limits on %s, two instances', (backend) => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    const config = { auth: { revocation_poll_ms: 100 } };
    a = await startGateway({ backend, config });
    b = await startReplica(a, { config });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /** A team (budget 1,000,000 unless given) and a key issued with `limits`; returns the key and its id. */
  const keyWith = async (team: string, limits: Record<string, unknown>, teamBody: Record<string, unknown> = {}) => {
    await a.team(team, teamBody);
    const issued = await a.admin('POST', `/admin/teams/${team}/keys`, { label: `${team} app`, ...limits });
    expect(issued.status).toBe(201);
    return issued.json() as { key: string; id: string };
  };
  /** Runs `n` distinct requests at once, alternating between the two instances. */
  const burst = (key: string, n: number, tag: string, model = 'gpt-5') =>
    Promise.all(Array.from({ length: n }, (_, i) => ask(i % 2 ? a : b, key, `${tag} ${i}`, model)));

  it('a key budget that fits 5 of 20 concurrent requests lets exactly 5 reach upstream', async () => {
    const { key } = await keyWith('kb', { budget: { tokens: 10, period: 'day' } }); // gpt-5 costs 2
    const before = a.sim.totalGenerateCalls();
    const answers = await burst(key, 20, 'key budget');
    expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
    const refused = answers.filter((r) => r.status === 402);
    expect(refused).toHaveLength(15);
    expect(refused[0].json()).toMatchObject({ error: 'insufficient_tokens', details: { scope: 'key', budget: 10, period: 'day' } });
    expect(a.sim.totalGenerateCalls() - before).toBe(5);
    // The team paid what the key spent, and nothing is left reserved.
    expect(await a.usage('kb')).toMatchObject({ spent: 10, reserved: 0 });
  });

  it('a disallowed model gets 403 model_not_allowed and never reaches upstream; a key cannot widen its team', async () => {
    const { key } = await keyWith('km', { allowed_models: ['*'] }, { allowed_models: ['gpt-5', 'category:image'] });
    const narrow = (await a.admin('POST', '/admin/teams/km/keys', { allowed_models: ['dall-e-*'] })).json().key as string;
    const before = a.sim.totalGenerateCalls();
    const byTeam = await ask(a, key, 'not for this team', 'claude-opus-4.5');
    expect(byTeam.status).toBe(403);
    expect(byTeam.json()).toEqual({
      error: 'model_not_allowed', message: expect.any(String), details: { model: 'claude-opus-4.5', scope: 'team' },
    });
    expect((await ask(b, narrow, 'not for this key', 'gpt-5')).json()).toMatchObject({ details: { model: 'gpt-5', scope: 'key' } });
    const stream = await b.api('POST', '/api/v2/generate/stream', narrow, { model: 'gpt-5', prompt: 'streamed' });
    expect(stream.status).toBe(403);
    expect(a.sim.totalGenerateCalls() - before).toBe(0);
    expect((await ask(a, key, 'a category the team allows', 'photon')).status).toBe(200);
    expect((await ask(b, narrow, 'a glob the key allows', 'dall-e-3')).status).toBe(200);
  });

  it('tokens per minute hold across both instances, with Retry-After', async () => {
    const { key, id } = await keyWith('kt', { rate_limit: { tokens_per_minute: 10 } });
    const before = a.sim.totalGenerateCalls();
    const answers = await burst(key, 20, 'token rate');
    expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
    const limited = answers.filter((r) => r.status === 429);
    expect(limited).toHaveLength(15);
    const retry = Number(limited[0].headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(61); // a minute, plus up to a 100 ms bucket (src/quota/rate-buckets.ts), rounded up
    expect(limited[0].json()).toMatchObject({
      error: 'rate_limit_exceeded', retry_after: retry, details: { limit: 'tokens_per_minute', scope: 'key', key: id, tokens_per_minute: 10 },
    });
    expect(a.sim.totalGenerateCalls() - before).toBe(5);
  });

  it('a request estimated above max_tokens_per_request gets 402 scope request before anything is reserved', async () => {
    const { key } = await keyWith('kx', { max_tokens_per_request: 10 });
    const before = a.sim.totalGenerateCalls();
    const refused = await ask(a, key, 'too dear', 'dall-e-3'); // reserved at 13
    expect(refused.status).toBe(402);
    expect(refused.json()).toMatchObject({ details: { scope: 'request', requested: 13, max_tokens_per_request: 10 } });
    expect(a.sim.totalGenerateCalls() - before).toBe(0);
    expect(await a.usage('kx')).toMatchObject({ spent: 0, reserved: 0 });
  });

  it('x-gateway-budget-remaining and the balance are the key\'s tightest limit', async () => {
    const { key } = await keyWith('kr', { budget: { tokens: 9, period: 'month' } }, { budget: { tokens: 100, period: 'month' } });
    const first = await ask(a, key, 'remaining');
    expect(first.headers['x-gateway-budget-remaining']).toBe('7');
    const hit = await ask(b, key, 'remaining');
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect(hit.headers['x-gateway-budget-remaining']).toBe('7');
    expect((await b.api('GET', '/api/v2/balance', key)).json().token_balance).toBe(7);
    // Another key of the team sees the team's 98 left.
    const other = (await a.admin('POST', '/admin/teams/kr/keys', {})).json().key as string;
    expect((await a.api('GET', '/api/v2/balance', other)).json().token_balance).toBe(98);
  });

  it('a PATCH of a key reaches the other instance within a second', async () => {
    const { key, id } = await keyWith('kp', {});
    expect((await ask(b, key, 'before the change')).status).toBe(200); // b has the key cached
    const patched = await a.admin('PATCH', `/admin/keys/${id}`, { allowed_models: ['dall-e-3'], rate_limit: { requests_per_minute: 5 } });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ id, allowed_models: ['dall-e-3'], rate_limit: { requests_per_minute: 5 } });
    expect(patched.json()).not.toHaveProperty('hash');
    const changedAt = Date.now();
    await vi.waitFor(async () => expect((await ask(b, key, 'after the change')).status).toBe(403), { timeout: 1_000, interval: 20 });
    expect(Date.now() - changedAt).toBeLessThan(1_000);
  });
});
