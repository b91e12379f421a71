// Resolves a team key to its team on the request path without a store round trip per
// request: verified keys and teams stay in memory, and a poll of the store's registry
// version (every auth.revocation_poll_ms) drops them all when anything changed, so a
// revocation on any replica holds everywhere within one poll interval.
import type { Clock } from '../clock.js';
import { Poller } from '../poller.js';
import type { ApiKeyRecord, Team, TeamStore } from '../teams/team-store.js';
import { TEAM_KEY_PREFIX, hashKey } from './keys.js';

export interface Principal {
  key: ApiKeyRecord;
  team: Team;
}

interface Entry {
  principal: Principal | null;
  cachedAt: number;
}

const MAX_ENTRIES = 10_000;
/** Unknown keys are remembered briefly so a flood of bad keys does not flood the store. */
const NEGATIVE_TTL_MS = 1_000;

export class Authenticator {
  private readonly entries = new Map<string, Entry>();
  private knownVersion = -1;
  private poller: Poller | undefined;

  constructor(
    private readonly store: TeamStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Starts the revocation poll; `onError` hears store failures (the cache is kept meanwhile). */
  start(pollMs: number, onError: (err: unknown) => void): void {
    this.poller = new Poller(() => this.refresh(), onError);
    this.poller.start(pollMs);
  }

  stop(): void {
    this.poller?.stop();
  }

  /** Re-reads the registry version; a change empties the cache. */
  async refresh(): Promise<void> {
    const version = await this.store.version();
    if (version !== this.knownVersion) {
      this.knownVersion = version;
      this.entries.clear();
    }
  }

  /**
   * Drops every cached key now (called on this replica's own admin changes), then takes the
   * version the change left as known: else the next poll would take it for news and drop the keys
   * verified since (which a store outage then leaves unchecked: 503). A failed read leaves it to the poll.
   */
  invalidate(): void {
    this.entries.clear();
    this.refresh().catch(() => {});
  }

  async authenticate(secret: string | null): Promise<Principal | null> {
    if (!secret || !secret.startsWith(TEAM_KEY_PREFIX) || secret.length > 128) return null;
    const hash = hashKey(secret);
    const now = this.clock.now();
    const cached = this.entries.get(hash);
    let principal: Principal | null;
    if (cached && now - cached.cachedAt < (cached.principal ? this.ttlMs : NEGATIVE_TTL_MS)) {
      principal = cached.principal;
    } else {
      principal = await this.load(hash);
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(hash, { principal, cachedAt: now });
    }
    if (!principal) return null;
    const { key } = principal;
    if (key.revoked_at) return null;
    if (key.expires_at && Date.parse(key.expires_at) <= now) return null;
    return principal;
  }

  private async load(hash: string): Promise<Principal | null> {
    const key = await this.store.findKeyByHash(hash);
    if (!key) return null;
    const team = await this.store.getTeam(key.team);
    return team ? { key, team } : null;
  }
}
