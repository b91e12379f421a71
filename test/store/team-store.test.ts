// Conformance: the team and key store behaves the same on SQLite and on Redis.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreConnection } from '../../src/store/connection.js';
import { createRedisTeamStore } from '../../src/teams/redis-team-store.js';
import { createSqliteTeamStore } from '../../src/teams/sqlite-team-store.js';
import type { ApiKeyRecord, Team, TeamStore } from '../../src/teams/team-store.js';
import { storeBackends, cleanup } from '../helpers/backends.js';

const team = (name: string): Team => ({
  name,
  budget: { tokens: 100, period: 'month' },
  rate_limit: null,
  cache: { share: true },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});
const key = (id: string, teamName: string): ApiKeyRecord => ({
  id,
  team: teamName,
  label: null,
  hash: `hash-${id}`,
  created_at: '2026-01-01T00:00:00.000Z',
  expires_at: null,
  revoked_at: null,
});

describe.each(storeBackends)('team store on $name', (backend) => {
  let conn: StoreConnection;
  let store: TeamStore;
  beforeEach(async () => {
    conn = await backend.open();
    store = conn.kind === 'sqlite' ? createSqliteTeamStore(conn) : createRedisTeamStore(conn);
  });
  afterEach(async () => cleanup(conn));

  it('creates a team once and lists it', async () => {
    expect(await store.createTeam(team('ml'))).toBe(true);
    expect(await store.createTeam(team('ml'))).toBe(false);
    await store.createTeam(team('design'));
    expect((await store.listTeams()).map((t) => t.name)).toEqual(['design', 'ml']);
    expect(await store.getTeam('ml')).toEqual(team('ml'));
    expect(await store.getTeam('nope')).toBeNull();
  });

  it('changes a team and bumps the registry version', async () => {
    await store.createTeam(team('ml'));
    const before = await store.version();
    await store.putTeam({ ...team('ml'), budget: { tokens: 5, period: 'day' } });
    expect((await store.getTeam('ml'))?.budget).toEqual({ tokens: 5, period: 'day' });
    expect(await store.version()).toBeGreaterThan(before);
  });

  it('finds keys by hash, lists them per team, revokes once', async () => {
    await store.createTeam(team('ml'));
    await store.insertKey(key('k1', 'ml'));
    await store.insertKey(key('k2', 'other'));
    expect((await store.findKeyByHash('hash-k1'))?.id).toBe('k1');
    expect(await store.findKeyByHash('hash-zz')).toBeNull();
    expect((await store.listKeys('ml')).map((k) => k.id)).toEqual(['k1']);
    expect(await store.listKeys()).toHaveLength(2);
    const v = await store.version();
    expect(await store.revokeKey('k1', '2026-02-01T00:00:00.000Z')).toBe(true);
    expect(await store.revokeKey('k1', '2026-02-02T00:00:00.000Z')).toBe(false);
    expect((await store.getKey('k1'))?.revoked_at).toBe('2026-02-01T00:00:00.000Z');
    expect(await store.version()).toBeGreaterThan(v);
    // A change read before the revocation cannot bring the key back (a PATCH racing a rotation).
    expect(await store.updateKey({ ...key('k1', 'ml'), label: 'stale' })).toBe(false);
    expect((await store.getKey('k1'))?.revoked_at).toBe('2026-02-01T00:00:00.000Z');
    expect(await store.updateKey({ ...key('k2', 'other'), label: 'fresh' })).toBe(true);
    expect((await store.getKey('k2'))?.label).toBe('fresh');
  });

  it('deleting a team revokes its keys', async () => {
    await store.createTeam(team('ml'));
    await store.insertKey(key('k1', 'ml'));
    expect(await store.deleteTeam('ml', '2026-03-01T00:00:00.000Z')).toBe(true);
    expect(await store.deleteTeam('ml', '2026-03-01T00:00:00.000Z')).toBe(false);
    expect(await store.getTeam('ml')).toBeNull();
    expect((await store.getKey('k1'))?.revoked_at).toBe('2026-03-01T00:00:00.000Z');
  });
});
