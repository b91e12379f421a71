// Alerts over a real HTTP receiver: team and key budget thresholds sent once across two
// replicas (on SQLite and on Redis) with a valid HMAC signature, a retry after the receiver answered 500 (an injected timer, no
// sleeping), giving up after alerts.retry_for_s, the account floor and a store failure; the
// deliveries and failures counted in /metrics. Plus the once-only claim on every store shape.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisAlertStore } from '../src/alerts/redis-alert-store.js';
import { createSqliteAlertStore } from '../src/alerts/sqlite-alert-store.js';
import { ManualClock } from '../src/clock.js';
import type { StoreConnection } from '../src/store/connection.js';
import { openTwice, storeBackends, type TwoConnections } from './helpers/backends.js';
import { startGateway, startReplica, type TestGateway } from './helpers/gateway.js';

const SECRET = 'whsec_alert_test_secret_0123456789';

interface Received {
  body: string;
  signature: string | undefined;
}

/** A webhook receiver on a real port: records every POST, answers 500 to the first `failFirst`. */
async function startReceiver() {
  const received: Received[] = [];
  const state = { failFirst: 0, alwaysFail: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ body, signature: req.headers['x-gateway-signature'] as string | undefined });
      const fail = state.alwaysFail || state.failFirst-- > 0;
      res.writeHead(fail ? 500 : 200).end(fail ? 'oops' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/B000/xyz`,
    received,
    state,
    events: (event: string) => received.map((r) => JSON.parse(r.body)).filter((b) => b.event === event),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const metric = async (gw: TestGateway, name: string, event: string) => {
  const text = await gw.app.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{event="${event}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
};

describe.each(storeBackends)('alert claims on $name', (backend) => {
  let stores: TwoConnections;
  beforeAll(async () => (stores = await openTwice(backend)));
  afterAll(() => stores.close());

  it('lets one claim of an event id win, across connections, until released', async () => {
    const { conn, other } = stores;
    const store = (c: StoreConnection) => (c.kind === 'sqlite' ? createSqliteAlertStore(c) : createRedisAlertStore(c));
    const now = Date.now();
    const claims = await Promise.all([store(conn), store(other), store(conn), store(other)].map((s) => s.claim('budget:ml:0.8', 60_000, now)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store(other).claim('budget:ml:1', 60_000, now)).toBe(true);
    await store(conn).release('budget:ml:0.8');
    expect(await store(other).claim('budget:ml:0.8', 60_000, now)).toBe(true);
  });
});

describe.each(['sqlite', 'redis'] as const)('budget alerts across two replicas on %s', (backend) => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    receiver = await startReceiver();
    const config = { alerts: { webhooks: [{ url: receiver.url, secret: SECRET }], budget_thresholds: [0.5, 1.0] } };
    a = await startGateway({ backend, config });
    b = await startReplica(a, { config });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await receiver.close();
  });

  const delivered = async () =>
    (await metric(a, 'elumenta_gateway_alerts_delivered_total', 'budget_threshold')) +
    (await metric(b, 'elumenta_gateway_alerts_delivered_total', 'budget_threshold'));
  const expectSigned = (secrets: string[]) => {
    for (const { body, signature } of receiver.received) {
      expect(signature).toBe('sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'));
      for (const secret of [SECRET, ...secrets]) expect(body).not.toContain(secret);
    }
  };

  it('sends each threshold crossing of a team once, signed, with a sentence for Slack', async () => {
    const before = await delivered();
    const key = await a.team('ml', { budget: { tokens: 20, period: 'month' } }); // gpt-5 costs 2: ten requests spend it all
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `alert ${i}` })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    await Promise.all([a.app.alerts.idle(), b.app.alerts.idle()]);

    const alerts = receiver.events('budget_threshold').filter((x) => x.team === 'ml');
    expect(alerts.map((x) => x.threshold).sort()).toEqual([0.5, 1]);
    expect(alerts.every((x) => x.key === undefined)).toBe(true);
    const full = alerts.find((x) => x.threshold === 1);
    expect(full).toMatchObject({ team: 'ml', spent: 20, budget: 20, period: 'month', resets_at: expect.any(String), at: expect.any(String) });
    expect(full.text).toMatch(/^Team ml reached 100% of its monthly budget: 20 of 20 tokens spent\. It resets at /);
    expectSigned([key]);
    expect((await delivered()) - before).toBe(2);
  });

  it("sends each threshold crossing of a key's own budget once, naming the key and its team, never its secret", async () => {
    const before = await delivered();
    await a.team('kl'); // the team's budget (1,000,000) is far away: only the key's alerts
    const issued = await a.admin('POST', '/admin/teams/kl/keys', { label: '<!channel> ops\nbot', budget: { tokens: 10, period: 'day' } });
    expect(issued.status).toBe(201);
    const { key, id } = issued.json() as { key: string; id: string };
    // gpt-5 costs 2: five of the eight fit the key's 10 tokens, the rest are refused (402).
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `key alert ${i}` })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
    expect(answers.filter((r) => r.status === 402)).toHaveLength(3);
    await Promise.all([a.app.alerts.idle(), b.app.alerts.idle()]);

    const alerts = receiver.events('budget_threshold').filter((x) => x.team === 'kl');
    expect(alerts.map((x) => x.threshold).sort()).toEqual([0.5, 1]); // one webhook per crossing across both replicas
    expect(alerts.every((x) => x.key === id && x.key_label === '<!channel> ops\nbot')).toBe(true);
    const full = alerts.find((x) => x.threshold === 1);
    expect(full).toMatchObject({ team: 'kl', key: id, spent: 10, budget: 10, period: 'day', resets_at: expect.any(String), at: expect.any(String) });
    // One line, and Slack gets no <!channel> mention out of a label.
    expect(full.text).toBe(`Key "&lt;!channel&gt; ops bot" (${id}) of team kl reached 100% of its daily budget: 10 of 10 tokens spent. It resets at ${full.resets_at}.`);
    expectSigned([key]);
    expect((await delivered()) - before).toBe(2);

    // Spending nothing more crosses nothing again: a cache hit settles nothing, and no second alert comes.
    const answered = answers.findIndex((r) => r.status === 200);
    const again = await b.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `key alert ${answered}` });
    expect(again.headers['x-gateway-cache']).toBe('hit');
    await Promise.all([a.app.alerts.idle(), b.app.alerts.idle()]);
    expect(receiver.events('budget_threshold').filter((x) => x.team === 'kl')).toHaveLength(2);
  });
});

describe('alert delivery retries', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let gw: TestGateway;
  const delays: number[] = [];
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startGateway({
      clock,
      alertSleep: async (ms) => {
        delays.push(ms);
        clock.advance(ms);
      },
      simOptions: { balance: 1_000 },
      config: {
        quota: { account_floor: 100 },
        alerts: { webhooks: [{ url: receiver.url, secret: SECRET }], account_margin: 2_000, retry_for_s: 5 },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await receiver.close();
  });

  it('retries with backoff after a 500, sends the account floor once, and gives up after retry_for_s', async () => {
    receiver.state.failFirst = 1;
    gw.app.alerts.checkFloor(); // the balance (1,000) is under floor 100 + margin 2,000
    gw.app.alerts.checkFloor();
    await gw.app.alerts.idle();
    expect(receiver.received).toHaveLength(2); // a 500, then the same alert accepted
    expect(receiver.received[0].body).toBe(receiver.received[1].body);
    expect(delays).toEqual([1_000]);
    const [floor] = receiver.events('account_floor');
    expect(floor).toMatchObject({ balance: 1_000 });
    expect(floor.text).toContain('The Elumenta account balance is 1,000 tokens, under the alert level of 2,100');
    expect(await metric(gw, 'elumenta_gateway_alert_delivery_failures_total', 'account_floor')).toBe(1);
    expect(await metric(gw, 'elumenta_gateway_alerts_delivered_total', 'account_floor')).toBe(1);

    receiver.state.alwaysFail = true;
    delays.length = 0;
    gw.app.services.storeError(new Error('store down (simulated)'));
    gw.app.services.storeError(new Error('store down again'));
    await gw.app.alerts.idle();
    expect(delays).toEqual([1_000, 2_000]); // 1 s + 2 s; the next wait (4 s) would pass retry_for_s (5 s)
    expect(receiver.events('store_unavailable')).toHaveLength(3);
    expect(receiver.events('store_unavailable')[0].text).toContain('The gateway store (sqlite) is failing');
    expect(await metric(gw, 'elumenta_gateway_alert_delivery_failures_total', 'store_unavailable')).toBe(3);
    expect(await metric(gw, 'elumenta_gateway_alerts_delivered_total', 'store_unavailable')).toBe(0);
  });
});
