// The SSE pieces on their own: the parser survives any chunking (split events, CRLF, split
// multi-byte characters), the replay of a stored body is valid SSE that reads back to the same
// text, and the writer's heartbeat fires only on a quiet line (fake timers, no sleeping).
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chunkText, replayEvents } from '../../src/stream/replay.js';
import { SseParser } from '../../src/stream/sse-parser.js';
import { HEARTBEAT, SseWriter } from '../../src/stream/sse-writer.js';

const serialize = (raws: string[]) => raws.map((raw) => `${raw}\n\n`).join('');

describe('SseParser', () => {
  it('gives the same events however the bytes are cut', () => {
    const text = 'data: {"type":"generation_start","id":"gen_01"}\r\n\r\ndata: {"type":"content_delta","delta":"héllo 🌍"}\n\n: ping\n\ndata: [DONE]\n\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let size = 1; size <= bytes.length; size += 3) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < bytes.length; i += size) events.push(...parser.push(bytes.subarray(i, i + size)));
      events.push(...parser.end());
      expect(events.map((e) => e.type)).toEqual(['generation_start', 'content_delta', null, '[DONE]']);
      expect(events[1].json?.delta).toBe('héllo 🌍');
      expect(events[2].raw).toBe(': ping');
    }
  });

  it('keeps a last event that lacks its blank line', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"type":"error","message":"x"}')).toEqual([]);
    expect(parser.end().map((e) => e.type)).toEqual(['error']);
  });
});

describe('replay', () => {
  const body = {
    id: 18473,
    status: 'completed',
    model_slug: 'gpt-5',
    result_text: 'Quantum computing uses qubits, which can be 0 and 1 at once.\n\nThat is superposition; entanglement links qubits together.',
    tokens_spent: 3,
  };

  it('is valid SSE a client parser reads back to the same text, in the upstream format', () => {
    const wire = serialize(replayEvents(body, 'reference').map((e) => e.raw));
    const events = new SseParser().push(wire);
    expect(events[0].json).toEqual({ type: 'generation_start', id: 18473, model: 'gpt-5' });
    const deltas = events.filter((e) => e.type === 'content_delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => e.json?.delta).join('')).toBe(body.result_text);
    expect(events.at(-2)?.json).toEqual({ type: 'generation_end', id: 18473, tokens_spent: 0 });
    expect(events.at(-1)?.type).toBe('[DONE]');
  });

  it('the guide variant also says tokens_used, and the team balance when known', () => {
    const events = replayEvents(body, 'guide', 41);
    expect(events.at(-2)?.json).toEqual({ type: 'generation_end', id: 18473, tokens_spent: 0, tokens_used: 0, balance_remaining: 41 });
  });

  it('chunks at word boundaries and loses nothing', () => {
    for (const text of ['', 'one', '  leading and trailing  ', 'a'.repeat(200), 'x y\tz\n\nw ']) {
      expect(chunkText(text).join('')).toBe(text);
    }
    expect(chunkText('word '.repeat(40)).every((c) => c.length <= 48)).toBe(true);
  });
});

describe('SseWriter heartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function fakeResponse() {
    const out = new PassThrough();
    let written = '';
    const res = Object.assign(out, {
      writeHead: vi.fn(),
      flushHeaders: vi.fn(),
      socket: null,
    });
    out.on('data', (chunk) => (written += String(chunk)));
    return { res: res as unknown as ServerResponse, written: () => written };
  }

  it('writes a keep-alive comment only after the interval passes without an event', async () => {
    vi.useFakeTimers();
    const { res, written } = fakeResponse();
    const writer = new SseWriter(res, 15_000);
    writer.start({});
    writer.event('data: {"type":"generation_start"}');
    await vi.advanceTimersByTimeAsync(10_000);
    writer.event('data: {"type":"content_delta","delta":"a"}');
    await vi.advanceTimersByTimeAsync(10_000); // 20 s since start, but only 10 s of quiet
    expect(written()).not.toContain(HEARTBEAT);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(written().split(HEARTBEAT)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(written().split(HEARTBEAT)).toHaveLength(3);
    writer.end();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(written().split(HEARTBEAT)).toHaveLength(3);
  });
});
