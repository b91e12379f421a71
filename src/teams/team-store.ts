// What the gateway keeps about teams and their keys, and the interface both backends
// implement. Keys are kept only as a SHA-256 hash; the secret itself is never stored.
import type { Limits, RateLimit } from '../limits/limits.js';

export type BudgetPeriod = 'day' | 'week' | 'month' | 'total';

/** A team and its limits (src/limits/limits.ts); its keys may narrow them, never widen. */
export interface Team extends Limits {
  name: string;
  budget: { tokens: number; period: BudgetPeriod };
  rate_limit: RateLimit | null;
  cache: { share: boolean };
  created_at: string;
  updated_at: string;
}

/** A key and its own limits inside its team's (absent or null: only the team's apply). */
export interface ApiKeyRecord extends Limits {
  id: string;
  team: string;
  label: string | null;
  /** SHA-256 of the secret, hex. */
  hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  budget?: { tokens: number; period: BudgetPeriod } | null;
}

export interface TeamStore {
  createTeam(team: Team): Promise<boolean>;
  getTeam(name: string): Promise<Team | null>;
  listTeams(): Promise<Team[]>;
  putTeam(team: Team): Promise<void>;
  /** Deletes the team and revokes its keys. */
  deleteTeam(name: string, revokedAt: string): Promise<boolean>;
  insertKey(key: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  findKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  listKeys(team?: string): Promise<ApiKeyRecord[]>;
  /** Revokes an active key; false if there is none (of two concurrent revocations, one wins). */
  revokeKey(id: string, revokedAt: string): Promise<boolean>;
  /** Replaces an active key's record (its limits, label, expiry); false if there is no such key or it was revoked meanwhile. */
  updateKey(key: ApiKeyRecord): Promise<boolean>;
  /** A counter bumped by every change to teams or keys; replicas poll it to drop cached keys. */
  version(): Promise<number>;
}
