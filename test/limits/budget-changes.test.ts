// Admin changes never refill a budget: a team's or a key's budget whose period changes keeps
// what was spent in the period current then (a later period of the new kind starts from zero),
// and a rotated key's spend counts against its replacement. Counted against the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const DAY_MS = 86_400_000;

describe.each(['sqlite', 'redis'] as const)('budget changes on %s', (backend) => {
  // Noon UTC on the 10th: a day, a week and a month all have room to end later.
  const clock = new ManualClock(Date.UTC(2026, 10, 10, 12));
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ backend, clock });
  });
  afterAll(async () => {
    await gw.close();
  });

  let n = 0;
  /** `count` distinct gpt-5 requests (2 tokens each), one after another; their statuses. */
  const spend = async (key: string, count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      statuses.push((await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `budget change ${n++}` })).status);
    }
    return statuses;
  };

  it('a team budget changed from month to day, then to total, keeps what was spent; the next day starts from zero', async () => {
    const key = await gw.team('periods', { budget: { tokens: 10, period: 'month' } });
    const calls = gw.sim.totalGenerateCalls();
    expect(await spend(key, 4)).toEqual([200, 200, 200, 200]);
    expect(await gw.usage('periods')).toMatchObject({ spent: 8, period: 'month' });

    expect((await gw.admin('PATCH', '/admin/teams/periods', { budget: { period: 'day' } })).status).toBe(200);
    expect(await gw.usage('periods')).toMatchObject({ spent: 8, period: 'day', remaining: 2 });
    expect(await spend(key, 2)).toEqual([200, 402]);

    expect((await gw.admin('PATCH', '/admin/teams/periods', { budget: { period: 'total' } })).status).toBe(200);
    expect(await gw.usage('periods')).toMatchObject({ spent: 10, remaining: 0 });
    expect(await spend(key, 1)).toEqual([402]);

    // Back to a daily budget: today keeps its spend, tomorrow is a new day.
    expect((await gw.admin('PATCH', '/admin/teams/periods', { budget: { period: 'day' } })).status).toBe(200);
    expect(await spend(key, 1)).toEqual([402]);
    clock.advance(DAY_MS);
    expect(await spend(key, 1)).toEqual([200]);
    expect(await gw.usage('periods')).toMatchObject({ spent: 2 });
    expect(gw.sim.totalGenerateCalls() - calls).toBe(6);
  });

  it('a key budget whose period changes keeps its spend, and rotating the key does not refill it', async () => {
    await gw.team('keyed');
    const issued = (await gw.admin('POST', '/admin/teams/keyed/keys', { label: 'app', budget: { tokens: 6, period: 'month' } })).json();
    const calls = gw.sim.totalGenerateCalls();
    expect(await spend(issued.key, 4)).toEqual([200, 200, 200, 402]);

    expect((await gw.admin('PATCH', `/admin/keys/${issued.id}`, { budget: { period: 'week' } })).status).toBe(200);
    expect(await spend(issued.key, 1)).toEqual([402]);

    // Two rotations at once (a double click): one wins, the other gets 404 and its key is given back.
    const rotations = await Promise.all([1, 2].map(() => gw.admin('POST', `/admin/keys/${issued.id}/rotate`)));
    expect(rotations.map((r) => r.status).sort()).toEqual([201, 404]);
    const rotated = rotations.find((r) => r.status === 201)!;
    const refused = await gw.api('POST', '/api/v2/generate', rotated.json().key, { model: 'gpt-5', prompt: 'after rotation' });
    expect(refused.status).toBe(402);
    expect(refused.json()).toMatchObject({ details: { scope: 'key', spent: 6, budget: 6, period: 'week' } });
    const keys = (await gw.admin('GET', '/admin/keys?team=keyed')).json().keys as Array<{ label: string | null; revoked_at: string | null }>;
    const active = keys.filter((k) => k.label === 'app' && !k.revoked_at);
    expect(active).toHaveLength(1);
    expect(gw.sim.totalGenerateCalls() - calls).toBe(3);
  });

  it('a daily budget made monthly counts what the month charged on earlier days', async () => {
    const key = await gw.team('longer', { budget: { tokens: 10, period: 'day' } });
    expect(await spend(key, 4)).toEqual([200, 200, 200, 200]);
    clock.advance(DAY_MS);
    expect(await spend(key, 4)).toEqual([200, 200, 200, 200]);
    expect((await gw.admin('PATCH', '/admin/teams/longer', { budget: { tokens: 20, period: 'month' } })).status).toBe(200);
    expect(await gw.usage('longer')).toMatchObject({ spent: 16, period: 'month' });
    expect(await spend(key, 3)).toEqual([200, 200, 402]);
  });

  it('of two rotations of one key that both found it active, one wins and the other gives its new key back', async () => {
    await gw.team('twice');
    const issued = (await gw.admin('POST', '/admin/teams/twice/keys', { label: 'cron', budget: { tokens: 10, period: 'month' } })).json();
    const { teams } = gw.app.services;
    const outcomes = await Promise.allSettled([teams.rotateKey(issued.id), teams.rotateKey(issued.id)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const keys = (await teams.listKeys('twice')).filter((k) => k.label === 'cron' && !k.revoked_at);
    expect(keys.map((k) => k.id)).toEqual([(outcomes.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>).value.id]);
  });

  it('after a change of period nobody used that day, and for a key, the next period starts from zero', async () => {
    const key = await gw.team('quiet', { budget: { tokens: 10, period: 'month' } });
    const own = (await gw.admin('POST', '/admin/teams/quiet/keys', { budget: { tokens: 4, period: 'month' } })).json();
    expect(await spend(own.key, 3)).toEqual([200, 200, 402]); // its own 4 a month
    expect(await spend(key, 4)).toEqual([200, 200, 200, 402]); // the team's 10
    expect((await gw.admin('PATCH', '/admin/teams/quiet', { budget: { tokens: 6, period: 'day' } })).status).toBe(200);
    expect((await gw.admin('PATCH', `/admin/keys/${own.id}`, { budget: { period: 'day' } })).status).toBe(200);
    clock.advance(DAY_MS); // no request on the day of the change
    expect(await gw.usage('quiet')).toMatchObject({ spent: 0, period: 'day' });
    expect(await spend(own.key, 3)).toEqual([200, 200, 402]); // its own 4 a day: a new day
    expect(await spend(key, 2)).toEqual([200, 402]); // the team's 6 a day, 4 of them spent by the key
  });

  it('a team deleted and created again with another period starts that period with what it spent, then resets', async () => {
    const key = await gw.team('again', { budget: { tokens: 8, period: 'month' } });
    expect(await spend(key, 4)).toEqual([200, 200, 200, 200]);
    expect((await gw.admin('DELETE', '/admin/teams/again')).status).toBe(204);
    const again = (await gw.admin('POST', '/admin/teams', { name: 'again', budget: { tokens: 6, period: 'day' } })).status;
    expect(again).toBe(201);
    const fresh = (await gw.admin('POST', '/admin/teams/again/keys', {})).json().key as string;
    expect(await spend(fresh, 1)).toEqual([402]); // 8 spent this month, over the 6 a day
    clock.advance(DAY_MS);
    expect(await spend(fresh, 4)).toEqual([200, 200, 200, 402]);
  });
});
