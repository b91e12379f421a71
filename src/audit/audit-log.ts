// The one way changes get into the audit log: `record` takes who did it, what, to which target,
// and the target's state before and after; it keeps only the fields that changed (dotted paths
// for nested ones) and drops every secret-bearing field before anything is written.
// The admin routes (and so the CLI, whose direct mode drives the same routes) call it after
// each successful change; `prune` applies audit.retention_days.
import type { Clock } from '../clock.js';
import type { AuditAction, AuditEntry, AuditFilter, AuditStore } from './audit-store.js';

/** Fields never written to the audit log, whatever object they appear in. */
const SECRET_FIELDS = new Set(['key', 'token', 'hash', 'secret']);
/** Fields that change on every write and say nothing about what changed. */
const NOISE_FIELDS = new Set(['updated_at', 'usage']);

export interface AuditChange {
  actor: string;
  ip: string | null;
  action: AuditAction;
  target: string;
  /** The target's state before the change (null when it did not exist). */
  before: object | null;
  /** The target's state after the change (null when it is gone). */
  after: object | null;
  /** Changes that are not a field of the target (e.g. the key a rotation issued). */
  extra?: Record<string, [unknown, unknown]>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Leaf fields of an object as dotted paths; arrays and scalars are leaves. */
function flatten(value: object | null, path = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [field, inner] of Object.entries(value ?? {})) {
    if (SECRET_FIELDS.has(field) || (path === '' && NOISE_FIELDS.has(field))) continue;
    const name = path ? `${path}.${field}` : field;
    if (isPlainObject(inner) && Object.keys(inner).length > 0) flatten(inner, name, out);
    else out[name] = inner;
  }
  return out;
}

/** The fields that differ between two states: {field: [before, after]}. */
export function diff(before: object | null, after: object | null): Record<string, [unknown, unknown]> {
  const a = flatten(before);
  const b = flatten(after);
  const changes: Record<string, [unknown, unknown]> = {};
  for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const was = a[field] ?? null;
    const now = b[field] ?? null;
    if (JSON.stringify(was) !== JSON.stringify(now)) changes[field] = [was, now];
  }
  return changes;
}

export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
  ) {}

  /** Appends one entry for a change; a change that changed nothing (e.g. revoking twice) writes none. */
  async record(change: AuditChange): Promise<void> {
    const changes = { ...diff(change.before, change.after), ...change.extra };
    if (Object.keys(changes).length === 0) return;
    const entry: AuditEntry = {
      at: new Date(this.clock.now()).toISOString(),
      actor: change.actor,
      action: change.action,
      target: change.target,
      changes,
      ip: change.ip,
    };
    await this.store.append(entry);
  }

  query(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.store.query(filter);
  }

  /** Removes entries older than `retentionDays`; how many. */
  prune(retentionDays: number): Promise<number> {
    return this.store.prune(this.clock.now() - retentionDays * 86_400_000);
  }
}
