// Named admin credentials as stored: only the SHA-256 of a token is kept, never the token.
// Both backends implement this interface; the active names are unique (the audit log's actor).
export type AdminRole = 'admin' | 'viewer';

export interface AdminTokenRecord {
  id: string;
  name: string;
  role: AdminRole;
  /** SHA-256 of the token, hex. */
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AdminTokenStore {
  /** Stores a new token; false when an active token already has that name. */
  insert(token: AdminTokenRecord): Promise<boolean>;
  findByHash(hash: string): Promise<AdminTokenRecord | null>;
  get(id: string): Promise<AdminTokenRecord | null>;
  list(): Promise<AdminTokenRecord[]>;
  /** Marks the token revoked (once); the record as it now is, or null for an unknown id. */
  revoke(id: string, revokedAt: string): Promise<AdminTokenRecord | null>;
}
