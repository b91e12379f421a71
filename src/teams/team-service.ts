// Team and key administration, shared by the admin API and the CLI's direct-store mode:
// issues keys (the secret is returned once, here, and never again), revokes and rotates them,
// and keeps spend right across those changes. Input schemas: ./team-input.ts.
import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import { generateKeyId, generateTeamKey, hashKey } from '../auth/keys.js';
import { mergeLimits } from '../limits/limits.js';
import type { ApiKeyRecord, BudgetPeriod, Team, TeamStore } from './team-store.js';
import { createTeamSchema, issueKeySchema, parseInput, publicKey, updateKeySchema, updateTeamSchema, type IssuedKey, type PublicKey } from './team-input.js';

/** What the team registry's changes do to spend (the quota service and store). */
export interface BudgetState {
  /** A rotated key's spend this period goes to its replacement (QuotaStore.carryKeySpend). */
  carryKeySpend(team: string, fromKeyId: string, toKeyId: string): Promise<void>;
  /** Budgets' periods changed (the team's: null; keys' by id): their spend carries into the new kind's current period (QuotaService.rebase). */
  rebase(team: string, keys: Array<string | null>, from: BudgetPeriod, to: BudgetPeriod): Promise<void>;
}

const NO_BUDGET_STATE: BudgetState = { carryKeySpend: async () => {}, rebase: async () => {} };

export class TeamService {
  constructor(
    private readonly store: TeamStore,
    private readonly clock: Clock,
    /** Called after every change, so this replica's caches drop stale entries at once. */
    private readonly onChange: () => void = () => {},
    /** Where spend is kept: moved on a key's rotation, rebased on a change of budget period. */
    private readonly budgets: BudgetState = NO_BUDGET_STATE,
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
      ...mergeLimits({}, body),
      cache: body.cache ?? { share: true },
      created_at: now,
      updated_at: now,
    };
    if (await this.store.getTeam(body.name)) throw errors.conflict(`Team ${body.name} already exists`);
    // A team deleted and created again may have spend stored under another period: it takes this one's.
    await this.budgets.rebase(body.name, [null], body.budget.period, body.budget.period);
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
      ...mergeLimits(team, patch),
      cache: patch.cache ?? team.cache,
      updated_at: this.stamp(),
    };
    // Before the change is visible: a replica still on the old period meanwhile carries the spend too.
    if (next.budget.period !== team.budget.period) {
      const following = (await this.store.listKeys(name)).filter((key) => !key.budget && !key.revoked_at).map((key) => key.id);
      await this.budgets.rebase(name, [null, ...following], team.budget.period, next.budget.period);
    }
    await this.store.putTeam(next);
    this.onChange();
    return next;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.deleteTeam(name, this.stamp()))) throw errors.notFound(`No team named ${name}`);
    this.onChange();
  }

  private assertFuture(expiresAt: string | null | undefined): void {
    if (expiresAt && Date.parse(expiresAt) <= this.clock.now()) {
      throw errors.validation('expires_at is in the past', { fields: { expires_at: 'must be in the future' } });
    }
  }

  async issueKey(teamName: string, input: unknown): Promise<IssuedKey> {
    const body = parseInput(issueKeySchema, input);
    await this.get(teamName);
    this.assertFuture(body.expires_at);
    const secret = generateTeamKey();
    const record: ApiKeyRecord = {
      id: generateKeyId(),
      team: teamName,
      label: body.label ?? null,
      hash: hashKey(secret),
      created_at: this.stamp(),
      expires_at: body.expires_at ? new Date(body.expires_at).toISOString() : null,
      revoked_at: null,
      budget: body.budget ?? null,
      ...mergeLimits({}, body),
    };
    await this.store.insertKey(record);
    this.onChange();
    return { ...publicKey(record), key: secret };
  }

  async listKeys(team?: string): Promise<PublicKey[]> {
    return (await this.store.listKeys(team)).map(publicKey);
  }

  /** A key by its id (revoked ones too), or null. */
  async getKey(id: string): Promise<PublicKey | null> {
    const key = await this.store.getKey(id);
    return key && publicKey(key);
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

  /**
   * Changes a key's limits, label or expiry (only the fields given; `null` removes a limit).
   * Bumps the registry version, so every replica applies it within one revocation poll.
   * Returns the key before and after, for the caller's audit record.
   */
  async updateKey(id: string, input: unknown): Promise<{ before: PublicKey; after: PublicKey }> {
    const patch = parseInput(updateKeySchema, input);
    const key = await this.store.getKey(id);
    if (!key || key.revoked_at) throw errors.notFound(`No active key ${id}`);
    this.assertFuture(patch.expires_at);
    let budget = key.budget ?? null;
    if (patch.budget === null) budget = null;
    else if (patch.budget) {
      const tokens = patch.budget.tokens ?? budget?.tokens;
      if (tokens === undefined) throw errors.validation('A key without a budget needs budget.tokens', { fields: { 'budget.tokens': 'required' } });
      budget = { tokens, period: patch.budget.period ?? budget?.period ?? 'month' };
    }
    const next: ApiKeyRecord = {
      ...key,
      label: patch.label === undefined ? key.label : patch.label,
      expires_at: patch.expires_at === undefined ? key.expires_at : patch.expires_at && new Date(patch.expires_at).toISOString(),
      budget,
      ...mergeLimits(key, patch),
    };
    const team = await this.store.getTeam(key.team);
    const [before, after] = [key.budget?.period, next.budget?.period].map((p) => p ?? team?.budget.period);
    if (before && after && before !== after) await this.budgets.rebase(key.team, [id], before, after);
    if (!(await this.store.updateKey(next))) throw errors.notFound(`No active key ${id}`);
    this.onChange();
    return { before: publicKey(key), after: publicKey(next) };
  }

  /**
   * Issues a new key for the same team, label and limits, and revokes the old one. What the old
   * key spent this period counts against the new one's budget: rotating never refills a key.
   */
  async rotateKey(id: string): Promise<IssuedKey> {
    const old = await this.store.getKey(id);
    if (!old || old.revoked_at) throw errors.notFound(`No active key ${id}`);
    // The new key keeps the old one's expiry: past, it could never be used. Say which, since
    // the caller sent no expires_at of its own.
    if (old.expires_at && Date.parse(old.expires_at) <= this.clock.now()) {
      const expired = `expired at ${new Date(old.expires_at).toISOString()}`;
      throw errors.validation(`Key ${id} ${expired}: extend its expires_at (PATCH /admin/keys/${id}) before rotating it`, { fields: { expires_at: expired } });
    }
    const { id: _id, team, hash: _hash, created_at: _at, revoked_at: _revoked, ...kept } = old;
    const issued = await this.issueKey(team, kept);
    const undo = () => this.store.revokeKey(issued.id, this.stamp());
    try {
      await this.budgets.carryKeySpend(team, id, issued.id);
    } catch (err) {
      await undo().catch(() => {}); // the old key stays as it was
      throw err;
    }
    // Revoking is the step only one rotation of a key wins: a concurrent one gives its new key back.
    let revoked: boolean;
    try {
      revoked = await this.store.revokeKey(id, this.stamp());
    } catch (err) {
      await undo().catch(() => {}); // the store failing: the new key is given back if it can be
      throw err;
    }
    if (!revoked) {
      await undo();
      this.onChange();
      throw errors.notFound(`No active key ${id}`);
    }
    this.onChange();
    return issued;
  }
}
