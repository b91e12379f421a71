// The alerts the gateway sends itself (config `alerts`): a team's or a key's spend crossing
// each of `budget_thresholds` (checked after settlements), the account balance under the floor plus
// `account_margin`, and the store becoming unreachable. Each event is claimed in the store
// first (./alert-store.ts), so of all replicas only one sends it; then ./webhook-sender.ts
// delivers it. When nothing is configured for an event, it costs nothing.
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { TeamBudgetView } from '../quota/quota-service.js';
import type { ApiKeyRecord, Team } from '../teams/team-store.js';
import type { AlertStore } from './alert-store.js';
import type { AlertPayload, WebhookSender } from './webhook-sender.js';

const BUDGET_CLAIM_MS = 400 * 86_400_000; // longer than any period; the id names the period anyway
const FLOOR_CLAIM_MS = 30 * 86_400_000; // released as soon as the balance is seen above the level again
const STORE_CLAIM_MS = 10 * 60_000; // one store_unavailable alert per 10 minutes of errors

const PERIOD_WORD = { day: 'daily', week: 'weekly', month: 'monthly', total: 'total' } as const;
const fmt = (n: number) => n.toLocaleString('en-US');
/**
 * A key's label inside a sentence a chat shows: on one line, and without `<`, `>` or `&`,
 * which Slack reads as mentions and links (`<!channel>`); Mattermost's markdown shows the
 * escapes as the characters they stand for.
 */
const chatText = (label: string) =>
  label.replace(/\s+/g, ' ').trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The budget a check looks at: a team's, or a key's own inside its team's. */
type BudgetOwner = { kind: 'team'; team: string } | { kind: 'key'; team: string; key: string };
type BudgetView = Pick<TeamBudgetView, 'budget' | 'period' | 'spent' | 'resets_at'>;

export interface AlertDeps {
  config: Config['alerts'];
  accountFloor: number;
  store: AlertStore;
  sender: WebhookSender;
  clock: Clock;
  /** The team's current budget view (null for a team that is gone). */
  budgetView: (team: string) => Promise<{ team: Team; view: TeamBudgetView } | null>;
  /** A key's own budget and its spend in its period (null: no such key, or no budget of its own). */
  keyBudgetView: (keyId: string) => Promise<{ key: Pick<ApiKeyRecord, 'id' | 'team' | 'label'>; view: BudgetView } | null>;
  /** The account balance as last seen (null while unknown). */
  balance: () => number | null;
  storeKind: string;
  onError: (err: unknown) => void;
}

export class Alerts {
  /** Budget checks running per team or key; a settlement during one asks for one more run after it. */
  private readonly checks = new Map<string, { again: boolean }>();
  private belowFloor = false;
  private lastStoreAlert = -Infinity;
  /** Checks and deliveries under way (tests wait for them with `idle`). */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: AlertDeps) {}

  /** A settlement was written for `team` (with `keyId`): check the team's and the key's thresholds and the account floor. */
  settled(team: string, keyId?: string | null): void {
    if (this.deps.sender.wants('budget_threshold')) {
      this.checkSoon({ kind: 'team', team });
      if (keyId) this.checkSoon({ kind: 'key', team, key: keyId });
    }
    this.checkFloor();
  }

  /** Runs one budget check of `owner`, or asks the running one for another pass. */
  private checkSoon(owner: BudgetOwner): void {
    const id = owner.kind === 'team' ? `team:${owner.team}` : `key:${owner.key}`;
    const running = this.checks.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.checks.set(id, state);
    this.track(
      (async () => {
        do {
          state.again = false;
          await this.checkBudget(owner).catch(this.deps.onError);
        } while (state.again);
        this.checks.delete(id);
      })(),
    );
  }

  /** Resolves once every check and delivery under way has ended (deliveries retry for a while). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private track(task: Promise<unknown>): void {
    const tracked = task.catch(this.deps.onError).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async checkBudget(owner: BudgetOwner): Promise<void> {
    const found = owner.kind === 'team' ? await this.deps.budgetView(owner.team) : await this.deps.keyBudgetView(owner.key);
    if (!found || found.view.budget <= 0) return;
    const { view } = found;
    const key = 'key' in found ? found.key : null;
    for (const threshold of this.deps.config.budget_thresholds) {
      // Rounded, so 0.7 of 100 is 70 tokens (not 70.00000000000001).
      if (view.spent < Math.round(threshold * view.budget * 1e6) / 1e6) continue;
      const who = key ? `key:${key.id}` : `team:${owner.team}`;
      const id = `budget_threshold:${who}:${view.period}:${view.resets_at ?? 'total'}:${view.budget}:${threshold}`;
      if (!(await this.deps.store.claim(id, BUDGET_CLAIM_MS, this.deps.clock.now()))) continue;
      const percent = Math.round(threshold * 100);
      const resets = view.resets_at ? ` It resets at ${view.resets_at}.` : '';
      const subject = key
        ? `Key ${key.label ? `"${chatText(key.label)}" (${key.id})` : key.id} of team ${key.team}`
        : `Team ${owner.team}`;
      this.dispatch({
        event: 'budget_threshold',
        text: `${subject} reached ${percent}% of its ${PERIOD_WORD[view.period]} budget: ${fmt(view.spent)} of ${fmt(view.budget)} tokens spent.${resets}`,
        team: key ? key.team : owner.team,
        ...(key ? { key: key.id, key_label: key.label } : {}),
        threshold,
        spent: view.spent,
        budget: view.budget,
        period: view.period,
        resets_at: view.resets_at,
      });
    }
  }

  /** Compares the balance as last seen with the alert level; sends once per dip below it. */
  checkFloor(): void {
    if (!this.deps.sender.wants('account_floor')) return;
    const balance = this.deps.balance();
    if (balance === null) return;
    const level = this.deps.accountFloor + this.deps.config.account_margin;
    const below = balance < level;
    if (below === this.belowFloor) return;
    this.belowFloor = below;
    const task = below
      ? this.claimAndSend('account_floor', FLOOR_CLAIM_MS, {
          event: 'account_floor',
          text: `The Elumenta account balance is ${fmt(balance)} tokens, under the alert level of ${fmt(level)} (floor ${fmt(this.deps.accountFloor)} + margin ${fmt(this.deps.config.account_margin)}); every team stops spending at the floor.`,
          balance,
        })
      : this.deps.store.release('account_floor');
    this.track(task);
  }

  /** A store call failed: one alert per STORE_CLAIM_MS of errors, across replicas when the store can decide. */
  storeFailed(): void {
    if (!this.deps.sender.wants('store_unavailable')) return;
    const now = this.deps.clock.now();
    if (now - this.lastStoreAlert < STORE_CLAIM_MS) return;
    this.lastStoreAlert = now;
    const payload = {
      event: 'store_unavailable' as const,
      text: `The gateway store (${this.deps.storeKind}) is failing: requests that need it are refused or let through as quota.on_store_error says.`,
    };
    // The store that would decide may be the one that is down: then this replica sends its own.
    this.track(
      this.deps.store
        .claim('store_unavailable', STORE_CLAIM_MS, now)
        .catch(() => true)
        .then((claimed) => (claimed ? this.dispatch(payload) : undefined)),
    );
  }

  private async claimAndSend(id: string, ttlMs: number, payload: Omit<AlertPayload, 'at'>): Promise<void> {
    if (await this.deps.store.claim(id, ttlMs, this.deps.clock.now())) this.dispatch(payload);
  }

  /** Hands the alert to the sender; its retries run in the background. */
  private dispatch(payload: Omit<AlertPayload, 'at'>): void {
    this.track(this.deps.sender.send({ ...payload, at: new Date(this.deps.clock.now()).toISOString() } as AlertPayload));
  }
}
