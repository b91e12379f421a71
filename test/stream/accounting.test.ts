// Streams are paid for exactly as upstream charged: the end event settles (tokens_spent on
// /generate/stream, tokens_used on /generate + stream:true), an error event releases, a cut
// stream settles from a poll of its generation, and an upstream error is relayed and released.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { openStream, textOf } from './sse-client.js';


describe('stream accounting', () => {
  let gw: TestGateway;
  let key: string;
  beforeEach(async () => {
    gw = await startGateway();
    key = await gw.team('ml', { budget: { tokens: 1000, period: 'month' } });
  });
  afterEach(async () => gw.close());

  it('tokens_spent from /generate/stream settles what upstream charged; the team may poll the id', async () => {
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'claude-opus-4.5', prompt: 'reference' });
    const events = await s.rest();
    expect(events.at(-2)).toMatchObject({ type: 'generation_end', tokens_spent: 6 });
    expect(gw.sim.tokensCharged()).toBe(6);
    expect(await gw.usage('ml')).toMatchObject({ spent: 6, reserved: 0 });
    const poll = await gw.api('GET', `/api/v2/generate/${events[0].id}`, key);
    expect(poll.json()).toMatchObject({ status: 'completed', result_text: textOf(events), tokens_spent: 6 });
  });

  it('tokens_used from the guide variant settles too; balance_remaining is the team view and the account balance is observed', async () => {
    const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'guide' }], stream: true };
    const events = await (await openStream(gw.url, '/api/v2/generate', key, body)).rest();
    const end = events.at(-2);
    expect(end).toMatchObject({ type: 'generation_end', tokens_used: 2 });
    expect(gw.sim.tokensCharged()).toBe(2);
    expect(await gw.usage('ml')).toMatchObject({ spent: 2, reserved: 0 });
    // The team may spend 1000 - 2 more, less than the account holds: never the account's figure.
    expect(end.balance_remaining).toBe(998);
    expect(gw.app.services.balance.tokens).toBe(gw.sim.balance());
  });

  it('an error event is relayed and releases the reservation', async () => {
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'x [stream-error]' });
    const events = await s.rest();
    expect(events.map((e) => e.type ?? e)).toEqual(['generation_start', 'content_delta', 'error', '[DONE]']);
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 0 });
    const today = new Date().toISOString().slice(0, 10);
    const ledger = await gw.app.services.quotaStore.ledger(today, today);
    expect(ledger.find((row) => row.team === 'ml')).toMatchObject({ failures: 1, tokens_spent: 0 });
  });

  it('a stream cut before its end is settled through a poll of the generation, and the client still gets the whole text', async () => {
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'claude-opus-4.5', prompt: 'y [stream-break]' });
    const events = await s.rest();
    expect(gw.sim.calls()['GET /api/v2/generate/:id']).toBe(1);
    expect(gw.sim.tokensCharged()).toBe(6);
    expect(await gw.usage('ml')).toMatchObject({ spent: 6, reserved: 0 });
    // The gateway finished the stream from the polled result.
    expect(textOf(events)).toBe('Simulated answer (claude-opus-4.5): y [stream-break]');
    expect(events.at(-2)).toMatchObject({ type: 'generation_end', id: events[0].id, tokens_spent: 6 });
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('an upstream error before the stream is relayed unchanged and releases the reservation', async () => {
    const image = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'photon', prompt: 'a cat' });
    expect(image.status).toBe(400);
    expect(JSON.parse(await image.text())).toMatchObject({ error: 'bad_request', message: 'Model photon does not support streaming' });
    const unknown = await openStream(gw.url, '/api/v2/generate', key, { model: 'no-such-model', prompt: 'a', stream: true });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(await unknown.text())).toMatchObject({ error: 'not_found' });
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 0 });
  });

  it('a connection lost before any event answers 502 and keeps the reservation as outcome-unknown', async () => {
    gw.sim.injectFault('drop', 1);
    const s = await openStream(gw.url, '/api/v2/generate/stream', key, { model: 'gpt-5', prompt: 'dropped' });
    expect(s.status).toBe(502);
    expect(JSON.parse(await s.text())).toMatchObject({ error: 'upstream_error' });
    expect(await gw.usage('ml')).toMatchObject({ spent: 0, reserved: 2 });
  });

  it('the team budget is checked before the stream opens', async () => {
    const poor = await gw.team('poor', { budget: { tokens: 1, period: 'month' } });
    const s = await openStream(gw.url, '/api/v2/generate/stream', poor, { model: 'gpt-5', prompt: 'too dear' });
    expect(s.status).toBe(402);
    expect(JSON.parse(await s.text())).toMatchObject({ error: 'insufficient_tokens', details: { scope: 'team' } });
    expect(gw.sim.totalGenerateCalls()).toBe(0);
  });
});
