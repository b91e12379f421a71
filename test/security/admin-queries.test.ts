// Hostile query strings on the admin API's reads. Regression: GET /admin/audit took a leap second
// (`2016-12-31T23:59:60Z`) or an offset without minutes (`+01`), both valid RFC 3339 times its
// schema accepts, read them as NaN, and answered 200 with no entry at all instead of the range.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('GET /admin/audit reads every time its schema accepts', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The one entry is made at 2026-11-30T12:00:00Z.
    gw = await startGateway({ clock: new ManualClock(Date.UTC(2026, 10, 30, 12)) });
    expect((await gw.admin('POST', '/admin/teams', { name: 'ml', budget: { tokens: 10, period: 'day' } })).status).toBe(201);
  });
  afterAll(async () => gw.close());

  const targets = async (query: string) => {
    const res = await gw.admin('GET', `/admin/audit?${query}`);
    expect(res.status).toBe(200);
    return res.json().entries.map((e: { target: string }) => e.target);
  };

  it.each([
    ['a leap second before it', 'from=2016-12-31T23:59:60Z', ['ml']],
    ['a leap second with a fraction before it', 'from=2016-12-31T23:59:60.250Z', ['ml']],
    ['a leap second after it', 'to=2026-12-31T23:59:60Z', ['ml']],
    ['a leap second bounding it out', 'to=2016-12-31T23:59:60Z', []],
    ['an offset without minutes, just before it', 'from=2026-11-30T12:59:59%2B01', ['ml']],
    ['an offset without minutes, just after it', 'from=2026-11-30T13:00:01%2B01', []],
    ['a negative offset without minutes', 'to=2026-11-30T07:00:00-05', ['ml']],
  ])('%s (%s)', async (_name, query, expected) => {
    expect(await targets(query)).toEqual(expected);
  });

  it('a day, a Z time and an offset with minutes read as before', async () => {
    expect(await targets('from=2026-11-30&to=2026-11-30')).toEqual(['ml']);
    expect(await targets('from=2026-11-30T12:00:00.001Z')).toEqual([]);
    expect(await targets('to=2026-11-30T13:00:00%2B01:00')).toEqual(['ml']);
  });
});

// Regression: a 422's details.fields was an object filled by assignment, so a field named
// `__proto__` set its prototype and one named `constructor` was taken as already named: the
// answer named neither ("Invalid request querystring: " and fields {}).
describe('a 422 names a field called __proto__ or constructor', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw.close());

  it.each(['__proto__', 'constructor', 'hasOwnProperty'])('GET /admin/keys?%s=1', async (field) => {
    const res = await gw.admin('GET', `/admin/keys?${field}=1`);
    expect(res.status).toBe(422);
    expect(res.json()).toEqual({
      error: 'validation_error',
      message: `Invalid request querystring: ${field} unknown field`,
      details: { fields: { [field]: 'unknown field' } },
    });
    expect(Object.keys(res.json().details.fields)).toEqual([field]);
  });
});
