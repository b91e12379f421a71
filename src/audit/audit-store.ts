// The audit log as stored: one entry per change made through the admin API or the CLI,
// appended and never edited; only the retention prune removes entries (the oldest first).
export type AuditAction =
  | 'team.create'
  | 'team.update'
  | 'team.delete'
  | 'key.issue'
  | 'key.revoke'
  | 'key.rotate'
  | 'key.update'
  | 'token.create'
  | 'token.revoke';

export interface AuditEntry {
  /** ISO 8601 time of the change. */
  at: string;
  /** The credential's name, "bootstrap" or "cli". */
  actor: string;
  action: AuditAction;
  /** What changed: a team name, a key id or a token id. */
  target: string;
  /** Each changed field (dotted path for nested ones): [before, after]; null where absent. */
  changes: Record<string, [unknown, unknown]>;
  ip: string | null;
}

export interface AuditFilter {
  /** Inclusive bounds, epoch ms. */
  fromMs: number;
  toMs: number;
  actor?: string;
  action?: string;
}

export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Entries in the range (oldest first) that match the filter. */
  query(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Removes entries older than `beforeMs`; how many were removed. */
  prune(beforeMs: number): Promise<number>;
}
