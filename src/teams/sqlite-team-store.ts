// TeamStore on SQLite: one row per team and per key, JSON documents beside indexed columns.
import type { SqliteConnection } from '../store/connection.js';
import type { ApiKeyRecord, Team, TeamStore } from './team-store.js';

export function createSqliteTeamStore(conn: SqliteConnection): TeamStore {
  const { db } = conn;
  db.exec(`
    CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY, team TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS api_keys_team ON api_keys(team);
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    INSERT OR IGNORE INTO meta (k, v) VALUES ('registry_version', 0);
  `);
  const bump = db.prepare(`UPDATE meta SET v = v + 1 WHERE k = 'registry_version'`);
  const q = {
    insertTeam: db.prepare(`INSERT OR IGNORE INTO teams (name, data) VALUES (?, ?)`),
    getTeam: db.prepare(`SELECT data FROM teams WHERE name = ?`).pluck(),
    listTeams: db.prepare(`SELECT data FROM teams ORDER BY name`).pluck(),
    putTeam: db.prepare(`UPDATE teams SET data = ? WHERE name = ?`),
    deleteTeam: db.prepare(`DELETE FROM teams WHERE name = ?`),
    insertKey: db.prepare(`INSERT INTO api_keys (id, team, hash, data) VALUES (?, ?, ?, ?)`),
    getKey: db.prepare(`SELECT data FROM api_keys WHERE id = ?`).pluck(),
    keyByHash: db.prepare(`SELECT data FROM api_keys WHERE hash = ?`).pluck(),
    listKeys: db.prepare(`SELECT data FROM api_keys ORDER BY team, id`).pluck(),
    listTeamKeys: db.prepare(`SELECT data FROM api_keys WHERE team = ? ORDER BY id`).pluck(),
    putKey: db.prepare(`UPDATE api_keys SET data = ? WHERE id = ?`),
    version: db.prepare(`SELECT v FROM meta WHERE k = 'registry_version'`).pluck(),
  };
  const parse = <T>(row: unknown): T | null => (typeof row === 'string' ? (JSON.parse(row) as T) : null);
  const parseAll = <T>(rows: unknown[]): T[] => rows.map((row) => JSON.parse(row as string) as T);

  const revokeTeamKeys = (team: string, at: string) => {
    for (const key of parseAll<ApiKeyRecord>(q.listTeamKeys.all(team))) {
      if (!key.revoked_at) q.putKey.run(JSON.stringify({ ...key, revoked_at: at }), key.id);
    }
  };
  const deleteTx = db.transaction((name: string, at: string) => {
    const changed = q.deleteTeam.run(name).changes > 0;
    if (changed) {
      revokeTeamKeys(name, at);
      bump.run();
    }
    return changed;
  });
  const revokeTx = db.transaction((id: string, at: string) => {
    const key = parse<ApiKeyRecord>(q.getKey.get(id));
    if (!key || key.revoked_at) return false;
    q.putKey.run(JSON.stringify({ ...key, revoked_at: at }), id);
    bump.run();
    return true;
  });
  // A key's change lands only while it is active: a rotation that revoked it meanwhile wins.
  const updateKeyTx = db.transaction((key: ApiKeyRecord) => {
    const stored = parse<ApiKeyRecord>(q.getKey.get(key.id));
    if (!stored || stored.revoked_at) return false;
    q.putKey.run(JSON.stringify(key), key.id);
    bump.run();
    return true;
  });
  const write = db.transaction((fn: () => unknown) => {
    const out = fn();
    bump.run();
    return out;
  });

  return {
    createTeam: async (team) => write(() => q.insertTeam.run(team.name, JSON.stringify(team)).changes > 0) as boolean,
    getTeam: async (name) => parse<Team>(q.getTeam.get(name)),
    listTeams: async () => parseAll<Team>(q.listTeams.all()),
    putTeam: async (team) => {
      write(() => q.putTeam.run(JSON.stringify(team), team.name));
    },
    deleteTeam: async (name, at) => deleteTx(name, at),
    insertKey: async (key) => {
      write(() => q.insertKey.run(key.id, key.team, key.hash, JSON.stringify(key)));
    },
    getKey: async (id) => parse<ApiKeyRecord>(q.getKey.get(id)),
    findKeyByHash: async (hash) => parse<ApiKeyRecord>(q.keyByHash.get(hash)),
    listKeys: async (team) => parseAll<ApiKeyRecord>(team ? q.listTeamKeys.all(team) : q.listKeys.all()),
    // IMMEDIATE: the read and the write are one step for other processes on the file too (the CLI's direct mode).
    revokeKey: async (id, at) => revokeTx.immediate(id, at),
    updateKey: async (key) => updateKeyTx.immediate(key),
    version: async () => Number(q.version.get()),
  };
}
