// Reservation ids are UUIDs of version 7: unique, and in the order they were made.
import { describe, expect, it } from 'vitest';
import { reservationId } from '../../src/quota/reservation-id.js';

describe('reservationId', () => {
  it('is a version 7 UUID that sorts by the time it was made', () => {
    const t = Date.UTC(2026, 0, 15, 12);
    const ids = [reservationId(t), reservationId(t + 1), reservationId(t + 1000), reservationId(t + 86_400_000)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0].slice(0, 13)).toBe('019bc186-de00');
    expect(new Set(Array.from({ length: 1000 }, () => reservationId(t))).size).toBe(1000);
  });
});
