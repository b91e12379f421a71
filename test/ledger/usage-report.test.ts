// GET /admin/usage: the ledger summed per group over a range of days, as JSON or as CSV that
// opens as CSV (parsed back here with an RFC 4180 reader); bad queries are refused by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseCsv } from './csv.js';

const WEIRD_MODEL = 'acme, "large"\nv2';

describe('GET /admin/usage', () => {
  let gw: TestGateway;
  // Noon on 2026-01-15 UTC: a known day and month for the default range.
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  beforeAll(async () => {
    gw = await startGateway({ clock });
    const ml = await gw.team('ml');
    const web = await gw.team('web');
    await gw.api('POST', '/api/v2/generate', ml, { model: 'gpt-5', prompt: 'a' });
    await gw.api('POST', '/api/v2/generate', ml, { model: 'dall-e-3', prompt: 'b' });
    // An unknown model reaches upstream (404) and the ledger keeps the name it was asked for.
    await gw.api('POST', '/api/v2/generate', ml, { model: WEIRD_MODEL, prompt: 'c' });
    await gw.api('POST', '/api/v2/generate', ml, { model: '=HYPERLINK("http://x")', prompt: 'd' });
    clock.advance(24 * 3600_000);
    await gw.api('POST', '/api/v2/generate', web, { model: 'gpt-5', prompt: 'e' });
    gw.app.savings.record('web', 'gpt-5', 'hit', 2);
    await gw.app.savings.flush();
  });
  afterAll(async () => gw.close());

  it('defaults to the current month grouped by team', async () => {
    const res = await gw.admin('GET', '/admin/usage');
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ from: '2026-01-01', to: '2026-01-31', group_by: ['team'] });
    expect(body.rows.map((r: { team: string }) => r.team)).toEqual(['ml', 'web']);
    expect(body.rows[1]).toEqual({
      team: 'web', requests: 2, tokens_spent: 2, tokens_saved: 2, hits: 1, coalesced: 0,
      rejections: 0, failures: 0, outcome_unknown: 0, hit_ratio: 0.5,
    });
    expect(body.rows[0]).toMatchObject({ requests: 4, failures: 2 });
    expect(body.totals.tokens_spent).toBe(gw.sim.tokensCharged());
  });

  it('groups by any subset of team, model and day, and filters by day', async () => {
    const byDay = (await gw.admin('GET', '/admin/usage?group_by=day&from=2026-01-16&to=2026-01-16')).json();
    expect(byDay.rows).toEqual([expect.objectContaining({ day: '2026-01-16', requests: 2, hits: 1 })]);
    const all = (await gw.admin('GET', '/admin/usage?group_by=team,model,day')).json();
    expect(all.rows).toHaveLength(5);
    expect(all.rows[0]).toHaveProperty('team');
    expect(all.rows[0]).toHaveProperty('model');
    expect(all.rows[0]).toHaveProperty('day');
    const none = (await gw.admin('GET', '/admin/usage?group_by=')).json();
    expect(none.rows).toHaveLength(1);
    expect(none.rows[0]).not.toHaveProperty('team');
    expect(none.rows[0].requests).toBe(6);
    const empty = (await gw.admin('GET', '/admin/usage?from=2025-12-01&to=2025-12-31')).json();
    expect(empty.rows).toEqual([]);
  });

  it('answers CSV that opens as CSV: header row, RFC 4180 quoting', async () => {
    const res = await gw.admin('GET', '/admin/usage?group_by=model,team&format=csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...records] = parseCsv(res.text);
    expect(header).toEqual([
      'model', 'team', 'requests', 'tokens_spent', 'tokens_saved', 'hits', 'coalesced',
      'rejections', 'failures', 'outcome_unknown', 'hit_ratio',
    ]);
    const json = (await gw.admin('GET', '/admin/usage?group_by=model,team')).json();
    expect(records).toHaveLength(json.rows.length);
    for (const [i, record] of records.entries()) {
      const row = json.rows[i];
      expect(record).toHaveLength(header.length);
      const expected = header.map((h) => (row[h] === null ? '' : String(row[h])));
      if (row.model.startsWith('=')) expected[0] = `'${row.model}`; // never a live formula in a spreadsheet
      expect(record).toEqual(expected);
    }
    expect(records.map((r) => r[0])).toContain(WEIRD_MODEL);
  });

  it('refuses a bad query, naming what is wrong', async () => {
    for (const [query, word] of [
      ['from=2026-13-01', 'from'],
      ['to=2026-02-30', 'to'],
      ['to=yesterday', 'to'],
      ['from=2026-02-01&to=2026-01-01', 'from'],
      ['group_by=team,prompt', 'group_by'],
      ['format=xml', 'format'],
      ['from=2026-01-01&from=2026-01-02', 'from'],
    ]) {
      const res = await gw.admin('GET', `/admin/usage?${query}`);
      expect(res.status, query).toBe(422);
      expect(res.json().error).toBe('validation_error');
      expect(res.json().message).toContain(word);
      expect(Object.keys(res.json().details.fields), query).toContain(word);
    }
    // A pattern's complaint is in words, not the regex.
    expect((await gw.admin('GET', '/admin/usage?group_by=team,prompt')).json().details.fields).toEqual({
      group_by: 'must be a comma-separated subset of team, model, day, key (default: team; empty: totals only)',
    });
    // Spaces and empty items are fine; an empty from or to is the default.
    const lenient = await gw.admin('GET', '/admin/usage?group_by=%20team%20,,model&from=&to=');
    expect(lenient.json()).toMatchObject({ from: '2026-01-01', to: '2026-01-31', group_by: ['team', 'model'] });
    expect((await call(gw.url, 'GET', '/admin/usage')).status).toBe(401);
  });

  it('is validated by fastify from the schema /openapi.json shows', async () => {
    const doc = (await call(gw.url, 'GET', '/openapi.json')).json();
    const params = Object.fromEntries(
      (doc.paths['/admin/usage'].get.parameters as Array<{ name: string; in: string; schema: Record<string, unknown> }>).map((p) => [p.name, p]),
    );
    expect(Object.keys(params).sort()).toEqual(['format', 'from', 'group_by', 'key', 'team', 'to']);
    expect(params.from).toMatchObject({ in: 'query', schema: { type: 'string' } });
    expect((params.from.schema.anyOf as unknown[])[0]).toEqual({ format: 'date' }); // or empty, for the default
    expect(params.group_by.schema.pattern).toEqual(expect.stringContaining('team|model|day|key'));
    expect(params.format.schema.enum).toEqual(['json', 'csv']);
  });
});
