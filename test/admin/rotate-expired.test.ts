// Rotating a key past its expiry: the new key would inherit an expiry already past, so the
// rotation is refused, and the refusal says so (the caller sent no expires_at of its own);
// extending the expiry first (PATCH) makes it rotatable again. The clock is injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('rotating an expired key', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 9, 0, 0));
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ clock });
    await gw.admin('POST', '/admin/teams', { name: 'ml', budget: { tokens: 100 } });
  });
  afterAll(async () => gw.close());

  it('is refused naming the key\'s expiry, and rotates once the expiry is extended', async () => {
    const issued = (await gw.admin('POST', '/admin/teams/ml/keys', { label: 'nightly', expires_at: '2026-11-30T10:00:00Z' })).json();
    clock.set(Date.UTC(2026, 10, 30, 11, 0, 0));

    const refused = await gw.admin('POST', `/admin/keys/${issued.id}/rotate`);
    expect(refused.status).toBe(422);
    expect(refused.json()).toMatchObject({
      error: 'validation_error',
      message: `Key ${issued.id} expired at 2026-11-30T10:00:00.000Z: extend its expires_at (PATCH /admin/keys/${issued.id}) before rotating it`,
      details: { fields: { expires_at: 'expired at 2026-11-30T10:00:00.000Z' } },
    });
    expect((await gw.admin('GET', '/admin/keys?team=ml')).json().keys).toHaveLength(1); // nothing issued

    expect((await gw.admin('PATCH', `/admin/keys/${issued.id}`, { expires_at: '2026-12-31T00:00:00Z' })).status).toBe(200);
    const rotated = await gw.admin('POST', `/admin/keys/${issued.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.json()).toMatchObject({ label: 'nightly', expires_at: '2026-12-31T00:00:00.000Z' });
  });
});
