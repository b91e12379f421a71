// Regression: `PATCH /admin/teams/:name {"budget":{"tokens":N}}` (and the CLI's `teams update
// --budget N`) turned a weekly budget into a monthly one, restarting its count from zero. A
// change now touches only the fields it names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('PATCH /admin/teams/:name changes only the given fields', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  it('a budget change without period keeps the weekly period and what was spent in it', async () => {
    const key = await gw.team('weekly', { budget: { tokens: 1000, period: 'week' }, rate_limit: { requests_per_minute: 50 } });
    const answer = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: 'spend something' });
    const spent = answer.json().tokens_spent as number;
    expect(spent).toBeGreaterThan(0);

    const patched = await gw.admin('PATCH', '/admin/teams/weekly', { budget: { tokens: 8000 } });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({
      budget: { tokens: 8000, period: 'week' },
      rate_limit: { requests_per_minute: 50 },
      usage: { budget: 8000, spent, remaining: 8000 - spent },
    });
  });

  it('a period change alone keeps the tokens', async () => {
    await gw.team('daily', { budget: { tokens: 100, period: 'day' } });
    const patched = await gw.admin('PATCH', '/admin/teams/daily', { budget: { period: 'month' } });
    expect(patched.json().budget).toEqual({ tokens: 100, period: 'month' });
  });
});
