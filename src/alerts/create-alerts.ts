// Builds the alerts from the config and the services they read (budgets, the balance, the
// store), with their delivery counters registered in the app's metrics registry.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { periodOf } from '../quota/periods.js';
import type { QuotaService } from '../quota/quota-service.js';
import type { QuotaStore } from '../quota/quota-store.js';
import type { AccountBalance } from '../quota/account-balance.js';
import type { StoreConnection } from '../store/connection.js';
import type { TeamService } from '../teams/team-service.js';
import { Alerts } from './alerts.js';
import { createRedisAlertStore } from './redis-alert-store.js';
import { createSqliteAlertStore } from './sqlite-alert-store.js';
import { WebhookSender, timerSleep, type Sleep } from './webhook-sender.js';

export function createAlerts(deps: {
  config: Config;
  store: StoreConnection;
  teams: TeamService;
  quota: QuotaService;
  quotaStore: Pick<QuotaStore, 'keySpent'>;
  balance: AccountBalance;
  clock: Clock;
  log: Logger;
  registry: Registry;
  sleep?: Sleep;
}): { alerts: Alerts; sender: WebhookSender } {
  const { config, clock, log } = deps;
  const delivered = new Counter({
    name: 'elumenta_gateway_alerts_delivered_total',
    help: 'Alerts a webhook accepted (2xx), per event',
    labelNames: ['event'],
    registers: [deps.registry],
  });
  const failed = new Counter({
    name: 'elumenta_gateway_alert_delivery_failures_total',
    help: 'Alert delivery attempts that failed (error or non-2xx answer; each is retried until alerts.retry_for_s), per event',
    labelNames: ['event'],
    registers: [deps.registry],
  });
  const onError = (err: unknown) => log.warn({ err }, 'alert check failed');
  const sender = new WebhookSender(config.alerts.webhooks, {
    clock,
    sleep: deps.sleep ?? timerSleep,
    retryForMs: config.alerts.retry_for_s * 1000,
    observer: { delivered: (event) => delivered.inc({ event }), failed: (event) => failed.inc({ event }) },
    // Only the origin: a webhook URL's path often carries its secret (Slack, Mattermost).
    onGiveUp: (origin, err) => log.error({ err, webhook: origin }, 'alert not delivered; gave up'),
  });
  const alerts = new Alerts({
    config: config.alerts,
    accountFloor: config.quota.account_floor,
    store: deps.store.kind === 'sqlite' ? createSqliteAlertStore(deps.store) : createRedisAlertStore(deps.store),
    sender,
    clock,
    budgetView: async (name) => {
      const team = await deps.teams.get(name).catch(() => null);
      return team && { team, view: await deps.quota.view(team) };
    },
    keyBudgetView: async (id) => {
      const key = await deps.teams.getKey(id);
      if (!key?.budget) return null;
      const period = periodOf(key.budget.period, clock.now(), config.quota.timezone);
      const spent = await deps.quotaStore.keySpent(key.team, key.id, period.id);
      return { key, view: { budget: key.budget.tokens, period: key.budget.period, spent, resets_at: period.resetsAt } };
    },
    balance: () => deps.balance.tokens,
    storeKind: deps.store.kind,
    onError,
  });
  return { alerts, sender };
}
