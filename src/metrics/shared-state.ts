// Gauges of state the replicas share (reservations outstanding, each team's budget, spent and
// left) are read from the store at scrape time, so every replica reports the same truth; one
// read serves every scrape for a few seconds. A failed read keeps the last values, never invents.
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { AccountBalance } from '../quota/account-balance.js';
import type { QuotaService } from '../quota/quota-service.js';
import type { QuotaStore } from '../quota/quota-store.js';
import type { TeamService } from '../teams/team-service.js';
import { METRIC_PREFIX } from './gateway-metrics.js';

export interface TeamBudgetState {
  team: string;
  budget: number;
  spent: number;
  remaining: number;
}

export interface StateSnapshot {
  outstanding: number;
  teams: TeamBudgetState[];
}

export interface StateSources {
  teams: Pick<TeamService, 'list'>;
  quota: Pick<QuotaService, 'view'>;
  quotaStore: Pick<QuotaStore, 'outstanding'>;
  balance: Pick<AccountBalance, 'tokens'>;
  clock: Clock;
  accountFloor: number;
  storeError(err: unknown): void;
}

export class SharedState {
  private snapshot: StateSnapshot | null = null;
  private readAt = -Infinity;
  private inflight: Promise<StateSnapshot | null> | null = null;

  constructor(
    private readonly sources: StateSources,
    private readonly cacheMs: number,
  ) {}

  /** The shared state, read from the store at most once per cacheMs. */
  current(): Promise<StateSnapshot | null> {
    if (this.sources.clock.now() - this.readAt < this.cacheMs) return Promise.resolve(this.snapshot);
    this.inflight ??= this.read().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async read(): Promise<StateSnapshot | null> {
    const { teams, quota, quotaStore, clock } = this.sources;
    try {
      const [outstanding, teamStates] = await Promise.all([
        quotaStore.outstanding(clock.now()),
        teams.list().then((list) =>
          Promise.all(
            list.map(async (team) => {
              const view = await quota.view(team);
              return { team: team.name, budget: view.budget, spent: view.spent, remaining: view.remaining };
            }),
          ),
        ),
      ]);
      this.snapshot = { outstanding, teams: teamStates };
    } catch (err) {
      this.sources.storeError(err);
    }
    this.readAt = clock.now();
    return this.snapshot;
  }

  register(registry: Registry): void {
    const registers = [registry];
    const current = () => this.current();
    const { balance, accountFloor } = this.sources;
    new Gauge({
      name: `${METRIC_PREFIX}quota_reservations_outstanding`,
      help: 'Quota reservations held across all teams and replicas (requests in flight upstream, pending jobs)',
      registers,
      async collect() {
        const snap = await current();
        if (snap) this.set(snap.outstanding);
      },
    });
    const perTeam = (name: string, help: string, pick: (t: TeamBudgetState) => number) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['team'],
        registers,
        async collect() {
          const snap = await current();
          if (!snap) return;
          this.reset(); // a deleted team disappears
          for (const t of snap.teams) this.set({ team: t.team }, pick(t));
        },
      });
    perTeam('team_budget_tokens', "Each team's token budget for its current period", (t) => t.budget);
    perTeam('team_spent_tokens', 'Tokens each team spent in its current budget period', (t) => t.spent);
    perTeam('team_budget_remaining_tokens', "Each team's budget left now (budget minus spent and reserved)", (t) => t.remaining);
    new Gauge({
      name: `${METRIC_PREFIX}account_balance_tokens`,
      help: "The upstream account's token balance as this replica last saw it (absent until first read)",
      registers,
      collect() {
        const tokens = balance.tokens;
        if (tokens === null) this.reset();
        else this.set(tokens);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}account_balance_floor_tokens`,
      help: 'No team may take the account balance below this (quota.account_floor)',
      registers,
      collect() {
        this.set(accountFloor);
      },
    });
  }
}
