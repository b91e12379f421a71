// Admin credentials: the bootstrap token from the config (role admin) and named tokens with
// role admin or viewer, created here (the token is returned once, never stored: only its
// SHA-256), listed and revoked. Every admin request resolves its bearer token through here,
// from the store each time (admin calls are rare), so a revocation holds on every replica at once.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashKey, safeEqual } from '../auth/keys.js';
import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import { parseInput } from '../teams/team-input.js';
import type { AdminRole, AdminTokenRecord, AdminTokenStore } from './token-store.js';

export const ADMIN_TOKEN_PREFIX = 'egw_adm_';
/** Actor names the gateway uses itself; a named token may not take them. */
export const RESERVED_ACTORS = ['bootstrap', 'cli'];

/** Who is calling the admin API. */
export interface AdminCredential {
  name: string;
  role: AdminRole;
}

export type PublicToken = Omit<AdminTokenRecord, 'hash'>;

export const createTokenSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$/, 'letters, digits, _ . @ and -, at most 63 characters')
      .refine((name) => !RESERVED_ACTORS.includes(name), 'reserved name'),
    role: z.enum(['admin', 'viewer']),
  })
  .strict();

function publicToken(record: AdminTokenRecord): PublicToken {
  const { hash: _hash, ...rest } = record;
  return rest;
}

export class AdminTokens {
  constructor(
    private readonly store: AdminTokenStore,
    private readonly clock: Clock,
    /** GATEWAY_ADMIN_TOKEN and the name it acts under ("bootstrap"; "cli" in the CLI's direct mode). */
    private readonly bootstrap: { token: string; name: string },
  ) {}

  /** The credential a bearer token stands for, or null (unknown, revoked, or none). */
  async resolve(token: string | null): Promise<AdminCredential | null> {
    if (!token || token.length > 256) return null;
    if (this.bootstrap.token && safeEqual(token, this.bootstrap.token)) return { name: this.bootstrap.name, role: 'admin' };
    if (!token.startsWith(ADMIN_TOKEN_PREFIX)) return null;
    // Looked up by hash: the time taken depends on the hash, never on how much of the token matched.
    const record = await this.store.findByHash(hashKey(token));
    return record && !record.revoked_at ? { name: record.name, role: record.role } : null;
  }

  async create(input: unknown): Promise<PublicToken & { token: string }> {
    const body = parseInput(createTokenSchema, input);
    const token = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: AdminTokenRecord = {
      id: 'tok_' + randomBytes(8).toString('hex'),
      name: body.name,
      role: body.role,
      hash: hashKey(token),
      created_at: new Date(this.clock.now()).toISOString(),
      revoked_at: null,
    };
    if (!(await this.store.insert(record))) throw errors.conflict(`An active admin token named ${body.name} exists`);
    return { ...publicToken(record), token };
  }

  async list(): Promise<PublicToken[]> {
    return (await this.store.list()).map(publicToken);
  }

  async get(id: string): Promise<PublicToken | null> {
    const record = await this.store.get(id);
    return record && publicToken(record);
  }

  async revoke(id: string): Promise<PublicToken> {
    const record = await this.store.revoke(id, new Date(this.clock.now()).toISOString());
    if (!record) throw errors.notFound(`No admin token ${id}`);
    return publicToken(record);
  }
}
