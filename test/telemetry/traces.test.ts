// Traces over real OTLP/HTTP: the gateway, with a tracer started from the OTEL_* variables,
// exports to a receiver on a real port. Each request has a server span with the request's
// facts, its steps are children of it, the log line names its trace id, and no key, token,
// prompt or result is anywhere in what was exported.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, tracingRequested, type Tracing } from '../../src/telemetry/tracing.js';
import { call, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const SERVER = 2; // SpanKind.SERVER in OTLP

describe('OpenTelemetry traces', () => {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let gw: TestGateway;
  let spans: ReceivedSpan[] = [];
  const prompt = `trace-me-not ${randomBytes(8).toString('hex')}`;
  const wrongKey = 'nb_gw_wrong_' + randomBytes(16).toString('base64url');
  const secrets: string[] = [];
  let result = '';

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'egw-trace-test', OTEL_BSP_SCHEDULE_DELAY: '20' };
    Object.assign(process.env, env); // the exporter and the batch processor read them from the process, as in `serve`
    tracing = (await startTracing(process.env))!;
    gw = await startGateway({ tracer: tracing.tracer, logStream, simOptions: { latencyMs: 100, apiKey: 'nb_upstream_secret_' + randomBytes(12).toString('hex') } });

    const key = await gw.team('ml');
    secrets.push(key, gw.sim.apiKey, gw.adminToken, wrongKey);
    const miss = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt });
    expect(miss.headers['x-gateway-cache']).toBe('miss');
    result = miss.json().result_text;
    const hit = await gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt });
    expect(hit.headers['x-gateway-cache']).toBe('hit');
    expect((await gw.api('POST', '/api/v2/generate', wrongKey, { model: 'gpt-5', prompt })).status).toBe(401);
    const twins = await Promise.all([0, 1].map(() => gw.api('POST', '/api/v2/generate', key, { model: 'gpt-5', prompt: `${prompt} twin` })));
    expect(twins.map((t) => t.headers['x-gateway-cache']).sort()).toEqual(['coalesced', 'miss']);
    expect((await call(gw.url, 'GET', '/healthz')).status).toBe(200);
    await gw.close();
    await tracing.shutdown(); // exports what is buffered
    spans = receiver.spans();
  });
  afterAll(async () => receiver?.close());

  const serverSpans = () => spans.filter((s) => s.kind === SERVER);
  const childrenOf = (parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

  it('is off unless an OTLP endpoint is set, and OTEL_SDK_DISABLED wins', async () => {
    expect(tracingRequested({})).toBe(false);
    expect(await startTracing({})).toBeNull();
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('exports one server span per request, named by route, with status, team, model and cache outcome', () => {
    expect(spans[0].resource['service.name']).toBe('egw-trace-test');
    const generate = serverSpans().filter((s) => s.name === 'POST /api/v2/generate');
    expect(generate.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 200, 401, 200, 200]);
    const [miss, hit, refused] = generate;
    expect(miss.attributes).toMatchObject({ 'gateway.team': 'ml', 'gateway.model': 'gpt-5', 'gateway.cache': 'miss', 'http.route': '/api/v2/generate' });
    expect(miss.attributes['gateway.tokens_spent']).toBeGreaterThan(0);
    expect(miss.attributes['gateway.upstream_status']).toBe(200);
    expect(hit.attributes).toMatchObject({ 'gateway.cache': 'hit', 'gateway.tokens_spent': 0 });
    expect(hit.attributes['gateway.tokens_saved']).toBe(miss.attributes['gateway.tokens_spent']);
    expect(refused.attributes['gateway.team']).toBeUndefined();
    expect(serverSpans().some((s) => s.name === 'GET /healthz')).toBe(true);
  });

  it('authentication is a child span of its request', () => {
    const [miss, , refused] = serverSpans().filter((s) => s.name === 'POST /api/v2/generate');
    const auth = childrenOf(miss).find((s) => s.name === 'authenticate')!;
    expect(auth.attributes).toMatchObject({ 'gateway.authenticated': true, 'gateway.team': 'ml' });
    expect(childrenOf(refused).find((s) => s.name === 'authenticate')!.attributes['gateway.authenticated']).toBe(false);
  });

  it('the paid path is traced: cache lookup, quota reserve, the upstream call, settle; a hit goes no further than the lookup', () => {
    const [miss, hit] = serverSpans().filter((s) => s.name === 'POST /api/v2/generate');
    const steps = (parent: ReceivedSpan) => Object.fromEntries(childrenOf(parent).map((s) => [s.name, s]));
    const paid = steps(miss);
    expect(Object.keys(paid)).toEqual(expect.arrayContaining(['authenticate', 'cache.lookup', 'quota.reserve', 'upstream.call', 'quota.settle']));
    expect(paid['cache.lookup'].attributes['gateway.cache_found']).toBe(false);
    expect(paid['quota.reserve'].attributes).toMatchObject({ 'gateway.team': 'ml', 'gateway.model': 'gpt-5' });
    expect(paid['quota.reserve'].attributes['gateway.tokens_estimate']).toBeGreaterThan(0);
    expect(paid['upstream.call'].attributes['gateway.upstream_status']).toBe(200);
    expect(paid['quota.settle'].attributes).toMatchObject({ 'gateway.generation_status': 'completed', 'gateway.tokens_spent': miss.attributes['gateway.tokens_spent'] });

    const served = steps(hit);
    expect(served['cache.lookup'].attributes['gateway.cache_found']).toBe(true);
    expect(Object.keys(served).sort()).toEqual(['authenticate', 'cache.lookup']);
  });

  it('an identical request in flight waits in a coalescing span and makes no upstream call', () => {
    const twins = serverSpans().filter((s) => s.name === 'POST /api/v2/generate').slice(3);
    const coalesced = twins.find((s) => s.attributes['gateway.cache'] === 'coalesced')!;
    const names = childrenOf(coalesced).map((s) => s.name);
    expect(names).toContain('cache.coalesce_wait');
    expect(names).not.toContain('upstream.call');
    expect(names).not.toContain('quota.reserve');
  });

  it("each request's log line names its trace id", () => {
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request' && l.route === '/api/v2/generate');
    const traced = serverSpans().filter((s) => s.name === 'POST /api/v2/generate');
    expect(logged.map((l) => l.trace_id).sort()).toEqual(traced.map((s) => s.traceId).sort());
    expect(new Set(logged.map((l) => l.trace_id)).size).toBe(5);
  });

  it('no key, token, prompt or result is in what was exported', () => {
    const exported = receiver.bodies.join('\n');
    expect(exported.length).toBeGreaterThan(0);
    expect(result.length).toBeGreaterThan(0);
    for (const secret of [...secrets, prompt, result]) expect(exported).not.toContain(secret);
    expect(exported).not.toMatch(/nb_gw_|nb_upstream_secret|Bearer/);
  });
});
