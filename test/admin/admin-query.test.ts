// Admin query strings are validated like admin bodies: an unknown parameter (a typo such as
// `group-by` or `actr`) is a 422 naming it, never silently dropped for the default answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('admin query strings', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
    await gw.team('ml');
  });
  afterAll(async () => gw.close());

  it.each([
    ['/admin/usage?group-by=key', 'group-by'],
    ['/admin/usage?group_by=team&tema=ml', 'tema'],
    ['/admin/audit?actr=ops', 'actr'],
    ['/admin/keys?teams=ml', 'teams'],
    ['/admin/teams?limit=1', 'limit'],
    ['/admin/teams/ml?verbose=1', 'verbose'],
  ])('%s: 422 naming the unknown parameter', async (path, field) => {
    const answer = await gw.admin('GET', path);
    expect(answer.status).toBe(422);
    expect(answer.json()).toMatchObject({ error: 'validation_error', details: { fields: { [field]: 'unknown field' } } });
  });

  it('the known parameters still answer', async () => {
    expect((await gw.admin('GET', '/admin/usage?group_by=key&team=ml&format=csv')).status).toBe(200);
    expect((await gw.admin('GET', '/admin/audit?actor=bootstrap&action=team.create')).json().entries).toHaveLength(1);
    expect((await gw.admin('GET', '/admin/keys?team=ml')).json().keys).toHaveLength(1);
    expect((await gw.admin('GET', '/admin/teams')).status).toBe(200);
  });
});
