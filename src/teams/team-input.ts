// What the team registry's admin operations accept and answer: the input schemas of teams and
// keys (the admin API's OpenAPI bodies are generated from them), their parsing into the
// contract's 422, and a key as it may be shown (never its hash).
import { z } from 'zod';
import { errors } from '../errors.js';
import { budgetInput, budgetPatch, limitsInput } from '../limits/limits.js';
import type { ApiKeyRecord } from './team-store.js';

const teamName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _, at most 63 characters');
const cacheSchema = z.object({ share: z.boolean() }).strict();
const expiresAt = z.iso
  .datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone, e.g. 2027-01-01T00:00:00Z' })
  .nullable()
  .optional();

export const createTeamSchema = z
  .object({ name: teamName, budget: budgetInput, cache: cacheSchema.optional(), ...limitsInput })
  .strict();
export const updateTeamSchema = z
  .object({ budget: budgetPatch.optional(), cache: cacheSchema.optional(), ...limitsInput })
  .strict();
export const issueKeySchema = z
  .object({ label: z.string().max(200).nullable().optional(), expires_at: expiresAt, budget: budgetInput.nullable().optional(), ...limitsInput })
  .strict();
export const updateKeySchema = z
  .object({ label: z.string().max(200).nullable().optional(), expires_at: expiresAt, budget: budgetPatch.nullable().optional(), ...limitsInput })
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
