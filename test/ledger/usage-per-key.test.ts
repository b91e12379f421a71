// Usage per key against the simulator's charges, on two gateway instances (SQLite sharing a
// file, and Redis): four keys of two teams send misses, hits, coalesced twins and a shared
// video job; GET /admin/usage?group_by=key (JSON and CSV) must give each key what the
// simulator charged for its upstream calls and what its shared answers saved, and sum to the total.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, startReplica, type TestGateway } from '../helpers/gateway.js';
import { generate, unique } from '../cache/helpers.js';
import { parseCsv } from './csv.js';

interface Key {
  team: string;
  label: string;
  id: string;
  key: string;
}
/** What the ledger should hold for one key, from the simulator's charges and the answers' headers. */
interface Expected {
  requests: number;
  tokens_spent: number;
  tokens_saved: number;
  hits: number;
  coalesced: number;
}

describe.each(['sqlite', 'redis'] as const)('usage per key on two %s instances', (backend) => {
  const simClock = new ManualClock(Date.now());
  let a: TestGateway;
  let b: TestGateway;
  const keys: Key[] = [];
  const expected = new Map<string, Expected>();
  beforeAll(async () => {
    // Upstream takes 150 ms, so twins sent once the leader's call arrived join it.
    a = await startGateway({ backend, simOptions: { latencyMs: 150, videoDelayMs: 60_000, now: () => simClock.now() } });
    b = await startReplica(a);
    for (const [team, labels] of [['ml', ['ml app', 'ml batch']], ['web', ['web site', 'web bot']]] as const) {
      await a.team(team);
      for (const label of labels) {
        const issued = (await a.admin('POST', `/admin/teams/${team}/keys`, { label })).json() as { id: string; key: string };
        keys.push({ team, label, id: issued.id, key: issued.key });
        expected.set(issued.id, { requests: 0, tokens_spent: 0, tokens_saved: 0, hits: 0, coalesced: 0 });
      }
    }
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const gw = (i: number) => (i % 2 === 0 ? a : b);
  /** Runs one unique request's traffic; returns what the simulator charged for it, checking it was called once. */
  const once = async (body: object, run: () => Promise<void>): Promise<number> => {
    const [charged, calls] = [a.sim.tokensCharged(), a.sim.callsFor(body)];
    await run();
    expect(a.sim.callsFor(body) - calls).toBe(1);
    return a.sim.tokensCharged() - charged;
  };
  const paid = (key: Key, price: number) => {
    const e = expected.get(key.id)!;
    e.requests++;
    e.tokens_spent += price;
  };
  const shared = (key: Key, kind: 'hit' | 'coalesced', price: number) => {
    const e = expected.get(key.id)!;
    e.requests++;
    e[kind === 'hit' ? 'hits' : 'coalesced']++;
    e.tokens_saved += price;
  };

  it("gives each key what the simulator charged for its calls, in JSON and CSV, summing to the simulator's total", async () => {
    const models = ['gpt-5', 'dall-e-3', 'claude-opus-4.5'];
    const misses: Array<{ body: object; price: number }> = [];
    // Misses: two unique requests per key, on both instances.
    for (let i = 0; i < 8; i++) {
      const key = keys[i % 4];
      const body = { model: models[i % 3], prompt: unique(`per key miss ${i}`) };
      const price = await once(body, async () => {
        expect((await generate(gw(i), key.key, body)).headers['x-gateway-cache']).toBe('miss');
      });
      paid(key, price);
      misses.push({ body, price });
    }
    // Hits: another key (of either team) asks the same on the other instance.
    for (let i = 0; i < 4; i++) {
      const key = keys[(i + 1) % 4];
      const calls = a.sim.totalGenerateCalls();
      const hit = await generate(gw(i + 1), key.key, misses[i].body);
      expect(hit.headers['x-gateway-cache']).toBe('hit');
      expect(a.sim.totalGenerateCalls()).toBe(calls);
      shared(key, 'hit', misses[i].price);
    }
    // Coalesced twins: one key's call is upstream; the three others join it (on both instances
    // on Redis; SQLite coalesces within an instance only, so there they join on the leader's).
    for (let round = 0; round < 2; round++) {
      const leader = keys[round * 2];
      const lead = gw(round);
      const body = { model: 'claude-opus-4.5', prompt: unique(`per key twins ${round}`) };
      const price = await once(body, async () => {
        const first = generate(lead, leader.key, body);
        await vi.waitFor(() => expect(a.sim.callsFor(body)).toBe(1), { interval: 2 });
        const twins = keys.filter((k) => k !== leader);
        const answers = await Promise.all(twins.map((k, i) => generate(backend === 'redis' ? gw(round + i + 1) : lead, k.key, body)));
        expect((await first).headers['x-gateway-cache']).toBe('miss');
        for (const answer of answers) expect(answer.json().tokens_spent).toBe(0);
        twins.forEach((k, i) => shared(k, answers[i].headers['x-gateway-cache'] as 'hit' | 'coalesced', 0));
      });
      paid(leader, price);
      for (const k of keys) if (k !== leader) expected.get(k.id)!.tokens_saved += price;
    }
    // A video job shared while pending: ml batch starts it, web site is handed it; ml batch pays.
    const [starter, twin] = [keys[1], keys[2]];
    const video = { model: 'kling-v2.1', prompt: unique('per key video'), duration: 5 };
    const price = await once(video, async () => {
      const started = (await generate(a, starter.key, video)).json();
      expect(started.status).toBe('pending');
      const handed = await generate(backend === 'redis' ? b : a, twin.key, video);
      expect(handed.headers['x-gateway-cache']).toBe('coalesced');
      simClock.advance(90_000);
      expect((await b.api('GET', `/api/v2/generate/${started.id}`, twin.key)).json().status).toBe('completed');
    });
    expect(price).toBeGreaterThan(0);
    paid(starter, price);
    shared(twin, 'coalesced', price);

    await Promise.all([a.app.savings.flush(), b.app.savings.flush()]);
    const charged = a.sim.tokensCharged();
    const json = (await a.admin('GET', '/admin/usage?group_by=key')).json();
    type Row = Expected & { key: string; key_label: string | null };
    const rows = json.rows as Row[];
    expect(rows.map((r) => r.key).sort()).toEqual(keys.map((k) => k.id).sort()); // no key '' row
    expect(rows.reduce((sum, r) => sum + r.tokens_spent, 0)).toBe(charged);
    expect(json.totals.tokens_spent).toBe(charged);
    for (const key of keys) {
      const row = rows.find((r) => r.key === key.id)!;
      expect(row, key.label).toMatchObject({ key_label: key.label, ...expected.get(key.id) });
    }

    // The same figures in CSV, and the team= and key= filters.
    const csv = await b.admin('GET', '/admin/usage?group_by=key&format=csv');
    const [header, ...records] = parseCsv(csv.text);
    expect(header.slice(0, 4)).toEqual(['key', 'key_label', 'requests', 'tokens_spent']);
    const fromCsv = records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    expect(fromCsv.reduce((sum, r) => sum + Number(r.tokens_spent), 0)).toBe(charged);
    for (const key of keys) {
      const record = fromCsv.find((r) => r.key === key.id)!;
      const e = expected.get(key.id)!;
      expect([record.key_label, Number(record.tokens_spent), Number(record.tokens_saved), Number(record.requests)]).toEqual([
        key.label, e.tokens_spent, e.tokens_saved, e.requests,
      ]);
    }
    const ml = (await a.admin('GET', '/admin/usage?group_by=key&team=ml')).json().rows as Row[];
    expect(ml.map((r) => r.key).sort()).toEqual(keys.filter((k) => k.team === 'ml').map((k) => k.id).sort());
    const one = (await b.admin('GET', `/admin/usage?group_by=team,key&key=${keys[3].id}`)).json().rows as Row[];
    expect(one).toEqual([expect.objectContaining({ team: 'web', key: keys[3].id, tokens_spent: expected.get(keys[3].id)!.tokens_spent })]);
    const figures = keys.map((k) => `${k.label} ${rows.find((r) => r.key === k.id)!.tokens_spent}`).join(', ');
    console.log(`usage per key (${backend}): ${figures}; sum ${rows.reduce((sum, r) => sum + r.tokens_spent, 0)}, simulator charged ${charged}`);
  }, 60_000);
});
