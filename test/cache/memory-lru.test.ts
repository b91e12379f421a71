// The in-process L1: bounded by bytes whatever the number of distinct prompts, least recently
// used first out, expiry by the injected clock.
import { describe, expect, it } from 'vitest';
import { answerBytes, sharedBody, type CachedAnswer } from '../../src/cache/cached-answer.js';
import { cacheKey, GENERATE_ROUTE } from '../../src/cache/cache-key.js';
import { ByteLru } from '../../src/cache/memory-lru.js';
import { ManualClock } from '../../src/clock.js';

function answerFor(prompt: string, i: number): CachedAnswer {
  const json = { id: i, status: 'completed', model_slug: 'gpt-5', result_text: `${prompt} `.repeat(1 + (i % 40)), tokens_spent: 2 };
  return { kind: 'completed', body: sharedBody(json), tokensSaved: 2, generationId: String(i), team: 'ml', model: 'gpt-5', ttlMs: null, expiresAt: 0 };
}

describe('L1 memory cache', () => {
  it('stays under its byte bound after 100k distinct prompts', () => {
    const clock = new ManualClock();
    const max = 2 * 1024 * 1024;
    const lru = new ByteLru<CachedAnswer>(max, clock);
    let peak = 0;
    let recent = '';
    for (let i = 0; i < 100_000; i++) {
      const prompt = `distinct prompt number ${i}`;
      const key = cacheKey(GENERATE_ROUTE, { model: 'gpt-5', prompt }, null);
      const answer = answerFor(prompt, i);
      lru.set(key, answer, answerBytes(key, answer), clock.now() + 3_600_000);
      peak = Math.max(peak, lru.bytes);
      recent = key;
    }
    expect(peak).toBeLessThanOrEqual(max);
    expect(lru.bytes).toBeLessThanOrEqual(max);
    // It is full, not empty: it keeps as many recent answers as fit.
    expect(lru.bytes).toBeGreaterThan(max * 0.9);
    expect(lru.size).toBeGreaterThan(500);
    expect(lru.size).toBeLessThan(100_000);
    expect(lru.get(recent)).toBeDefined();
  });

  it('evicts the least recently used first; a read makes an entry recent', () => {
    const clock = new ManualClock();
    const lru = new ByteLru<number>(16_000, clock); // entries of 1,000 bytes: 16 fit
    for (let i = 0; i < 16; i++) lru.set(`k${i}`, i, 1_000, clock.now() + 60_000);
    expect(lru.get('k0')).toBe(0); // k0 is now the most recent; k1 the least
    lru.set('k16', 16, 1_000, clock.now() + 60_000);
    expect(lru.get('k1')).toBeUndefined();
    expect(lru.get('k0')).toBe(0);
    expect(lru.get('k16')).toBe(16);
    expect(lru.size).toBe(16);
    expect(lru.bytes).toBe(16_000);
  });

  it('refuses an entry larger than its share of the budget, and expires by the injected clock', () => {
    const clock = new ManualClock();
    const lru = new ByteLru<string>(1600, clock);
    expect(lru.set('big', 'x', 101, clock.now() + 1000)).toBe(false);
    expect(lru.bytes).toBe(0);
    expect(lru.set('small', 'y', 100, clock.now() + 1000)).toBe(true);
    clock.advance(999);
    expect(lru.get('small')).toBe('y');
    clock.advance(1);
    expect(lru.get('small')).toBeUndefined();
    expect(lru.bytes).toBe(0);
  });
});
