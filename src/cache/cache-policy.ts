// Decides, per request, whether and how the cache takes part: the model's switch, the team's
// sharing choice, the client's Cache-Control and TTL header; and how long an answer may be
// kept: its category's TTL, never longer than the upstream keeps a media file on this plan.
import type { Category, Config } from '../config/schema.js';
import { errors } from '../errors.js';
import type { Team } from '../teams/team-store.js';
import { cacheKey, GENERATE_ROUTE } from './cache-key.js';

/** The per-request TTL header: whole seconds; 0 means "do not store this answer". */
export const TTL_HEADER = 'x-gateway-cache-ttl';

export interface CachePlan {
  key: string;
  /** False for `Cache-Control: no-cache`: skip the lookup (and coalescing), still store. */
  read: boolean;
  /** False when the TTL header asks for 0 seconds. */
  write: boolean;
  /** The TTL header's value in ms, capped by cache.max_ttl_s; null to use the category's. */
  ttlOverrideMs: number | null;
}

const DAY_MS = 24 * 3600 * 1000;
/** How long upstream keeps a generation's file, by plan (older docs); unknown plans get the shortest. */
const RETENTION_MS: Record<string, number> = {
  free: 7 * DAY_MS,
  basic: 30 * DAY_MS,
  pro: 90 * DAY_MS,
  vip: 90 * DAY_MS,
  elite: Number.POSITIVE_INFINITY,
};

export function mediaRetentionMs(plan: string | null): number {
  return RETENTION_MS[plan ?? ''] ?? RETENTION_MS.free;
}

function cacheControl(headers: Record<string, string | string[] | undefined>): Set<string> {
  const raw = headers['cache-control'];
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return new Set(text.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean));
}

/** The plan for one generate request, or null when the cache stays out of it (bypass). */
export function planRequest(
  config: Config['cache'],
  team: Team,
  /** The body as received: the key is made from its text (./canonical-json.ts). */
  raw: Buffer,
  model: string,
  headers: Record<string, string | string[] | undefined>,
): CachePlan | null {
  const directives = cacheControl(headers);
  if (!config.enabled || config.models[model] === false || directives.has('no-store')) return null;
  let ttlOverrideMs: number | null = null;
  const ttlHeader = headers[TTL_HEADER];
  if (ttlHeader !== undefined) {
    const text = Array.isArray(ttlHeader) ? ttlHeader[0] : ttlHeader;
    if (!/^\d{1,10}$/.test(text.trim())) {
      throw errors.badRequest(`${TTL_HEADER} must be a whole number of seconds`, { header: TTL_HEADER });
    }
    ttlOverrideMs = Math.min(Number(text.trim()), config.max_ttl_s) * 1000;
  }
  const namespace = team.cache?.share === false ? team.name : null;
  return {
    key: cacheKey(GENERATE_ROUTE, raw, namespace),
    read: !directives.has('no-cache'),
    write: ttlOverrideMs !== 0,
    ttlOverrideMs,
  };
}

/** How long a completed answer may be kept (ms); 0 means not at all. */
export function ttlFor(
  config: Config['cache'],
  category: Category,
  isMedia: boolean,
  override: number | null,
  plan: string | null,
): number {
  const base = override ?? config.ttl_s[category] * 1000;
  return isMedia ? Math.min(base, mediaRetentionMs(plan)) : base;
}
