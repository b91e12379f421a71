// Schemas of the admin routes, by `METHOD url`: fastify validates requests with them and
// serializes answers with them, and the OpenAPI document is built from them. Request bodies
// come from the team service's own zod schemas (one definition, also used by the CLI's
// direct-store mode); answers keep fields a schema does not list (additionalProperties).
import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { errorResponses } from '../http/openapi.js';
import { GROUP_BY_PATTERN, GROUP_KEYS } from '../ledger/usage.js';
import { createTeamSchema, issueKeySchema, updateKeySchema, updateTeamSchema } from '../teams/team-input.js';
import { createTokenSchema } from './admin-tokens.js';

const tags = ['admin'];
const security = [{ adminToken: [] }];

/**
 * A zod schema as the JSON schema of what a client sends (defaults left to the service). A
 * date-time keeps its `format` and drops zod's long regex, so a 422 names the field in words.
 */
function bodyOf(schema: z.ZodType, example: unknown): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    override: ({ jsonSchema }) => {
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  }) as Record<string, unknown>;
  return { ...json, examples: [example] };
}

const nullable = (type: string) => ({ type: [type, 'null'] });
const open = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: true,
});

const budget = open({ tokens: { type: 'integer' }, period: { type: 'string', enum: ['day', 'week', 'month', 'total'] } });
/** The limits a team and each key may carry (README: "Limits per team and key"); absent or null = none. */
const limits = {
  allowed_models: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] },
  rate_limit: {
    anyOf: [open({ requests_per_minute: { type: 'integer' }, tokens_per_minute: { type: 'integer' } }, []), { type: 'null' }],
  },
  max_tokens_per_request: nullable('integer'),
};
const team = open(
  {
    name: { type: 'string' },
    budget,
    ...limits,
    cache: open({ share: { type: 'boolean' } }),
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
  ['name', 'budget', 'rate_limit', 'cache', 'created_at', 'updated_at'],
);
const teamWithUsage = {
  ...team,
  properties: {
    ...team.properties,
    usage: open({
      budget: { type: 'integer' },
      period: { type: 'string' },
      spent: { type: 'integer' },
      reserved: { type: 'integer' },
      remaining: { type: 'integer' },
      resets_at: nullable('string'),
    }),
  },
};
const key = open(
  {
    id: { type: 'string' },
    team: { type: 'string' },
    label: nullable('string'),
    created_at: { type: 'string' },
    expires_at: nullable('string'),
    revoked_at: nullable('string'),
    budget: { anyOf: [budget, { type: 'null' }] },
    ...limits,
  },
  ['id', 'team', 'label', 'created_at', 'expires_at', 'revoked_at'],
);
const issuedKey = { ...key, required: [...key.required, 'key'], properties: { ...key.properties, key: { type: 'string', description: 'The secret, shown in this answer only' } } };

const credential = open({ name: { type: 'string' }, role: { type: 'string', enum: ['admin', 'viewer'] } });
const adminToken = open({
  id: { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string', enum: ['admin', 'viewer'] },
  created_at: { type: 'string' },
  revoked_at: nullable('string'),
});
const issuedToken = {
  ...adminToken,
  required: [...adminToken.required, 'token'],
  properties: { ...adminToken.properties, token: { type: 'string', description: 'The secret, shown in this answer only' } },
};
const auditEntry = open({
  at: { type: 'string' },
  actor: { type: 'string' },
  action: { type: 'string' },
  target: { type: 'string' },
  changes: { type: 'object', additionalProperties: { type: 'array', minItems: 2, maxItems: 2 } },
  ip: nullable('string'),
});

/** A UTC day (a real one: 2026-02-30 is refused), or empty for the default. */
const dayOrEmpty = { type: 'string', anyOf: [{ format: 'date' }, { const: '' }] };
/** A UTC day, an RFC 3339 time (with its offset), or empty for no bound. */
const dayTimeOrEmpty = { type: 'string', anyOf: [{ format: 'date' }, { format: 'date-time' }, { const: '' }] };

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } };
const teamExample = { name: 'ml', budget: { tokens: 5000, period: 'month' }, rate_limit: { requests_per_minute: 60 } };

export const adminSchemas: Record<string, FastifySchema> = {
  'POST /admin/teams': {
    summary: 'Create a team',
    body: bodyOf(createTeamSchema, teamExample),
    response: { 201: { description: 'The team', ...team }, ...errorResponses(400, 401, 409, 422) },
  },
  'GET /admin/teams': {
    summary: 'List teams, with their usage this period',
    response: { 200: { description: 'Every team', ...open({ teams: { type: 'array', items: teamWithUsage } }) }, ...errorResponses(401) },
  },
  'GET /admin/teams/:name': {
    summary: 'Read a team, with spent, reserved, remaining and resets_at',
    params: nameParams,
    response: { 200: { description: 'The team', ...teamWithUsage }, ...errorResponses(401, 404) },
  },
  'PATCH /admin/teams/:name': {
    summary: 'Change the fields given (effective at once)',
    params: nameParams,
    body: bodyOf(updateTeamSchema, { budget: { tokens: 8000 } }),
    response: { 200: { description: 'The team after the change', ...teamWithUsage }, ...errorResponses(400, 401, 404, 422) },
  },
  'DELETE /admin/teams/:name': {
    summary: 'Delete a team (its keys are revoked; its ledger rows stay)',
    params: nameParams,
    response: { 204: { description: 'Deleted', type: 'null' }, ...errorResponses(401, 404) },
  },
  'POST /admin/teams/:name/keys': {
    summary: 'Issue a key (the secret is in this answer only)',
    params: nameParams,
    body: bodyOf(issueKeySchema, { label: 'notebook', expires_at: '2027-01-01T00:00:00Z', budget: { tokens: 500, period: 'day' } }),
    response: { 201: { description: 'The key, with its secret', ...issuedKey }, ...errorResponses(400, 401, 404, 422) },
  },
  'GET /admin/keys': {
    summary: 'List keys (never their secrets)',
    querystring: { type: 'object', properties: { team: { type: 'string', description: 'Only this team' } } },
    response: { 200: { description: 'The keys', ...open({ keys: { type: 'array', items: key } }) }, ...errorResponses(401) },
  },
  'PATCH /admin/keys/:id': {
    summary: "Change a key's limits, label or expiry: only the fields given; null removes a limit (on every replica within a second)",
    params: idParams,
    body: bodyOf(updateKeySchema, { budget: { tokens: 500 }, rate_limit: { tokens_per_minute: 200 }, allowed_models: ['category:image'] }),
    response: { 200: { description: 'The key after the change', ...key }, ...errorResponses(400, 401, 404, 422) },
  },
  'DELETE /admin/keys/:id': {
    summary: 'Revoke a key (on every replica within a second)',
    params: idParams,
    response: { 200: { description: 'The revoked key', ...key }, ...errorResponses(401, 404) },
  },
  'POST /admin/keys/:id/rotate': {
    summary: 'Rotate a key: a new one for the same team, label, expiry and limits; the old one is revoked',
    params: idParams,
    response: { 201: { description: 'The new key, with its secret', ...issuedKey }, ...errorResponses(401, 404, 422) },
  },
  'GET /admin/usage': {
    summary: 'The durable ledger, summed per group, as JSON or CSV',
    // Fastify validates the query with this (a wrong field is a 422 naming it); what a schema
    // cannot say (from not after to) and the defaults are src/ledger/usage.ts's usageQuery.
    querystring: {
      type: 'object',
      properties: {
        from: { ...dayOrEmpty, description: 'First day, YYYY-MM-DD (default: first of this month, UTC)' },
        to: { ...dayOrEmpty, description: 'Last day, YYYY-MM-DD (default: last of this month)' },
        group_by: {
          type: 'string',
          pattern: GROUP_BY_PATTERN,
          description: `a comma-separated subset of ${GROUP_KEYS.join(', ')} (default: team; empty: totals only)`,
          examples: ['team,model'],
        },
        team: { type: 'string', description: "Only this team's rows" },
        key: { type: 'string', description: "Only this key's rows (its id)" },
        format: { type: 'string', enum: ['json', 'csv'], description: 'json (default) or csv' },
      },
    },
    response: {
      200: {
        description: 'Rows per group and totals (JSON), or the rows as CSV',
        content: {
          'application/json': {
            schema: open({
              from: { type: 'string' },
              to: { type: 'string' },
              group_by: { type: 'array', items: { type: 'string' } },
              rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
              totals: { type: 'object', additionalProperties: true },
            }),
          },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      ...errorResponses(401, 422),
    },
  },
  'GET /admin/whoami': {
    summary: 'The calling credential: its name (bootstrap for GATEWAY_ADMIN_TOKEN) and role',
    response: { 200: { description: 'Who is calling', ...credential }, ...errorResponses(401) },
  },
  'POST /admin/tokens': {
    summary: 'Create a named admin or viewer token (the secret is in this answer only)',
    body: bodyOf(createTokenSchema, { name: 'grafana', role: 'viewer' }),
    response: { 201: { description: 'The token, with its secret', ...issuedToken }, ...errorResponses(400, 401, 409, 422) },
  },
  'GET /admin/tokens': {
    summary: 'List admin tokens (never their secrets)',
    response: { 200: { description: 'The tokens', ...open({ tokens: { type: 'array', items: adminToken } }) }, ...errorResponses(401) },
  },
  'DELETE /admin/tokens/:id': {
    summary: 'Revoke an admin token (refused on every replica at once)',
    params: idParams,
    response: { 200: { description: 'The revoked token', ...adminToken }, ...errorResponses(401, 404) },
  },
  'GET /admin/audit': {
    summary: 'The audit log of admin changes, oldest first, as JSON or CSV',
    querystring: {
      type: 'object',
      properties: {
        from: { ...dayTimeOrEmpty, description: 'From this UTC day (YYYY-MM-DD) or time (RFC 3339, e.g. 2026-11-30T09:00:00Z)' },
        to: { ...dayTimeOrEmpty, description: 'Up to this UTC day (inclusive) or time (RFC 3339)' },
        actor: { type: 'string', description: 'Only changes by this credential (bootstrap, cli, or a token name)' },
        action: { type: 'string', description: 'Only this action, e.g. key.revoke' },
        format: { type: 'string', enum: ['json', 'csv'], description: 'json (default) or csv' },
      },
    },
    response: {
      200: {
        description: 'The entries (JSON), or one row per entry as CSV',
        content: {
          'application/json': { schema: open({ entries: { type: 'array', items: auditEntry } }) },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      ...errorResponses(401, 422),
    },
  },
  'GET /admin/status': {
    summary: 'Upstream balance as last seen, store health, version',
    response: {
      200: {
        description: 'Status',
        ...open({
          version: { type: 'string' },
          upstream: open({ base_url: { type: 'string' }, balance: { type: 'object', additionalProperties: true }, models: { type: 'integer' } }),
          store: open({ kind: { type: 'string' }, healthy: { type: 'boolean' } }),
        }),
      },
      ...errorResponses(401),
    },
  },
};

/** A viewer credential's change is refused: every route that changes something may answer 403, and 413 for a body over the limit. */
const forbidden = errorResponses(403, 413);

/** Attaches each admin route's schema (and its tag and security) as the route is added. */
export function withAdminSchema(route: { method: string | string[]; url: string; schema?: FastifySchema }): void {
  const schema = adminSchemas[`${route.method} ${route.url}`];
  if (!schema) return;
  const response = route.method === 'GET' ? schema.response : { ...(schema.response as object), ...forbidden };
  // A query string takes only the parameters the route lists (none unless it lists some): an
  // unknown one (a typo such as `group-by`) is a 422 naming it, not dropped for the default answer.
  const querystring = { type: 'object', properties: {}, ...(schema.querystring as object), additionalProperties: false };
  route.schema = { tags, security, ...schema, querystring, response, ...route.schema };
}
