// Team and key administration, shared by the admin API and the CLI's direct-store mode:
// validates input, issues keys (the secret is returned once, here, and never again),
// revokes and rotates them. Callers decide how to present the results.
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import { generateKeyId, generateTeamKey, hashKey } from '../auth/keys.js';
import type { ApiKeyRecord, Team, TeamStore } from './team-store.js';

const teamName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _, at most 63 characters');
const budgetTokens = z.number().int().nonnegative();
const budgetPeriod = z.enum(['day', 'week', 'month', 'total']);
const budgetSchema = z.object({ tokens: budgetTokens, period: budgetPeriod.default('month') }).strict();
/** A change names only what changes: no defaults here, so a budget without `period` keeps the team's period. */
const budgetPatchSchema = z.object({ tokens: budgetTokens.optional(), period: budgetPeriod.optional() }).strict();
const rateLimitSchema = z.object({ requests_per_minute: z.number().int().positive() }).strict().nullable();
const cacheSchema = z.object({ share: z.boolean() }).strict();

export const createTeamSchema = z
  .object({
    name: teamName,
    budget: budgetSchema,
    rate_limit: rateLimitSchema.optional(),
    cache: cacheSchema.optional(),
  })
  .strict();
export const updateTeamSchema = z
  .object({ budget: budgetPatchSchema.optional(), rate_limit: rateLimitSchema.optional(), cache: cacheSchema.optional() })
  .strict();
export const issueKeySchema = z
  .object({
    label: z.string().max(200).nullable().optional(),
    expires_at: z.iso
      .datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone, e.g. 2027-01-01T00:00:00Z' })
      .nullable()
      .optional(),
  })
  .strict();

/** A key as listed: everything but the hash. */
export type PublicKey = Omit<ApiKeyRecord, 'hash'>;
export type IssuedKey = PublicKey & { key: string };

export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const fields = Object.fromEntries(
    result.error.issues.map((issue) => [issue.path.join('.') || ('keys' in issue ? issue.keys.join(',') : 'body'), issue.message]),
  );
  throw errors.validation('Invalid request body', { fields });
}

export function publicKey(key: ApiKeyRecord): PublicKey {
  const { hash: _hash, ...rest } = key;
  return rest;
}

export class TeamService {
  constructor(
    private readonly store: TeamStore,
    private readonly clock: Clock,
    /** Called after every change, so this replica's caches drop stale entries at once. */
    private readonly onChange: () => void = () => {},
  ) {}

  private stamp(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async create(input: unknown): Promise<Team> {
    const body = parseInput(createTeamSchema, input);
    const now = this.stamp();
    const team: Team = {
      name: body.name,
      budget: body.budget,
      rate_limit: body.rate_limit ?? null,
      cache: body.cache ?? { share: true },
      created_at: now,
      updated_at: now,
    };
    if (!(await this.store.createTeam(team))) throw errors.conflict(`Team ${body.name} already exists`);
    this.onChange();
    return team;
  }

  async get(name: string): Promise<Team> {
    const team = await this.store.getTeam(name);
    if (!team) throw errors.notFound(`No team named ${name}`);
    return team;
  }

  list(): Promise<Team[]> {
    return this.store.listTeams();
  }

  async update(name: string, input: unknown): Promise<Team> {
    const patch = parseInput(updateTeamSchema, input);
    const team = await this.get(name);
    const next: Team = {
      ...team,
      budget: { ...team.budget, ...patch.budget },
      rate_limit: patch.rate_limit === undefined ? team.rate_limit : patch.rate_limit,
      cache: patch.cache ?? team.cache,
      updated_at: this.stamp(),
    };
    await this.store.putTeam(next);
    this.onChange();
    return next;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.deleteTeam(name, this.stamp()))) throw errors.notFound(`No team named ${name}`);
    this.onChange();
  }

  async issueKey(teamName: string, input: unknown): Promise<IssuedKey> {
    const body = parseInput(issueKeySchema, input);
    await this.get(teamName);
    if (body.expires_at && Date.parse(body.expires_at) <= this.clock.now()) {
      throw errors.validation('expires_at is in the past', { fields: { expires_at: 'must be in the future' } });
    }
    const secret = generateTeamKey();
    const record: ApiKeyRecord = {
      id: generateKeyId(),
      team: teamName,
      label: body.label ?? null,
      hash: hashKey(secret),
      created_at: this.stamp(),
      expires_at: body.expires_at ? new Date(body.expires_at).toISOString() : null,
      revoked_at: null,
    };
    await this.store.insertKey(record);
    this.onChange();
    return { ...publicKey(record), key: secret };
  }

  async listKeys(team?: string): Promise<PublicKey[]> {
    return (await this.store.listKeys(team)).map(publicKey);
  }

  async revokeKey(id: string): Promise<PublicKey> {
    if (!(await this.store.revokeKey(id, this.stamp()))) {
      const key = await this.store.getKey(id);
      if (!key) throw errors.notFound(`No key ${id}`);
      return publicKey(key); // already revoked: revoking again is a no-op
    }
    this.onChange();
    return publicKey((await this.store.getKey(id)) as ApiKeyRecord);
  }

  /** Issues a new key for the same team and label, and revokes the old one. */
  async rotateKey(id: string): Promise<IssuedKey> {
    const old = await this.store.getKey(id);
    if (!old || old.revoked_at) throw errors.notFound(`No active key ${id}`);
    const issued = await this.issueKey(old.team, { label: old.label, expires_at: old.expires_at });
    await this.revokeKey(id);
    return issued;
  }
}
