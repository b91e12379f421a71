// Wires the gateway's services from a config, a store connection, an upstream client and a
// clock. buildApp, the CLI's direct-store mode, the tests and the benchmark all build the
// gateway through here, so they run the same thing.
import type { Tracer } from '@opentelemetry/api';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { AdminTokens } from './admin/admin-tokens.js';
import { createRedisTokenStore } from './admin/redis-token-store.js';
import { createSqliteTokenStore } from './admin/sqlite-token-store.js';
import { AuditLog } from './audit/audit-log.js';
import { createRedisAuditStore } from './audit/redis-audit-store.js';
import { createSqliteAuditStore } from './audit/sqlite-audit-store.js';
import { Authenticator } from './auth/authenticator.js';
import { createCacheStore } from './cache/cache-store.js';
import { createRedisFlightCoordinator } from './cache/redis-flight-coordinator.js';
import { ResponseCache } from './cache/response-cache.js';
import { Catalog } from './catalog/catalog.js';
import { systemClock, type Clock, type Timers } from './clock.js';
import type { Config } from './config/schema.js';
import { PaidPath } from './generate/paid-call.js';
import { SavingsLedger } from './ledger/savings.js';
import { ownJournalFile, type JournalFamily } from './ledger/journal-files.js';
import { journaled } from './ledger/journaled-quota-store.js';
import { SettlementJournal } from './ledger/settlement-journal.js';
import { createGrantStore, type GrantStore } from './generations/grant-store.js';
import { createJobStore, type JobStore } from './generations/job-store.js';
import { observeSettlements } from './metrics/settlement-observer.js';
import { AccountBalance } from './quota/account-balance.js';
import { createMemoryAccountStore, type AccountStore } from './quota/account-store.js';
import { QuotaService } from './quota/quota-service.js';
import type { QuotaStore, SettleInput } from './quota/quota-store.js';
import { createRedisAccountStore } from './quota/redis-account-store.js';
import { createRedisQuotaStore } from './quota/redis-quota-store.js';
import { createSqliteQuotaStore } from './quota/sqlite-quota-store.js';
import { Reconciler } from './reconciler.js';
import type { StoreConnection } from './store/connection.js';
import { StreamService } from './stream/stream-service.js';
import { createRedisTeamStore } from './teams/redis-team-store.js';
import { createSqliteTeamStore } from './teams/sqlite-team-store.js';
import { TeamService } from './teams/team-service.js';
import type { TeamStore } from './teams/team-store.js';
import { UpstreamClient } from './upstream/client.js';

export interface Services {
  config: Config;
  clock: Clock;
  store: StoreConnection;
  teamStore: TeamStore;
  teams: TeamService;
  auth: Authenticator;
  /** Admin credentials: the bootstrap token and named admin/viewer tokens. */
  adminTokens: AdminTokens;
  /** The append-only log of admin changes. */
  audit: AuditLog;
  grants: GrantStore;
  jobs: JobStore;
  quotaStore: QuotaStore;
  /** Settlements the store could not take, kept on disk until it can (src/ledger/settlement-journal.ts). */
  journal: SettlementJournal;
  /** Savings (hits, coalesced answers, shared jobs once their cost is known), batched into the ledger. */
  savings: SavingsLedger;
  quota: QuotaService;
  balance: AccountBalance;
  catalog: Catalog;
  /** The response cache (L1 in memory, L2 in the store) and single-flight of identical requests. */
  cache: ResponseCache;
  upstream: UpstreamClient;
  /** The one paid path: reserve, send, settle (src/generate/paid-call.ts). */
  paid: PaidPath;
  /** Settles pending jobs nobody polls (src/reconciler.ts); started by buildApp. */
  reconciler: Reconciler;
  /** Streamed answers: live broadcasts for coalescing, and upstream streams still being read. */
  streams: StreamService;
  log: Logger;
  /** Spans for the steps of a request (src/telemetry/spans.ts); undefined when traces are off. */
  tracer?: Tracer;
  /** Throttled logging of store failures: once per interval, not once per request. */
  storeError(err: unknown): void;
}

export function createUpstreamClient(config: Config): UpstreamClient {
  return new UpstreamClient({
    baseUrl: config.upstream.base_url,
    apiKey: config.upstream.api_key,
    connections: config.upstream.connections,
    connectTimeoutMs: config.upstream.connect_timeout_ms,
    getTimeoutMs: config.upstream.get_timeout_ms,
    retry: config.upstream.retry,
  });
}

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * quota.settlement_journal as given, else a file of this process's own (host and pid in its
 * name) beside the SQLite file, or in ./data/ named after the Redis prefix, whose family is
 * searched for the journals of replicas that died. Path null: memory only.
 */
export function journalFile(config: Config, store: StoreConnection): { path: string | null; family: JournalFamily | null } {
  if (config.quota.settlement_journal) return { path: config.quota.settlement_journal, family: null };
  if (store.kind === 'sqlite' && store.path === ':memory:') return { path: null, family: null };
  const family: JournalFamily =
    store.kind === 'sqlite'
      ? { dir: dirname(store.path), base: `${basename(store.path).replace(/[^A-Za-z0-9_-]+/g, '_')}-settlements`, legacy: `${basename(store.path)}.settlements` }
      : { dir: './data', base: `settlements-${store.prefix.replace(/[^A-Za-z0-9_-]+/g, '_')}`, legacy: null };
  return { path: ownJournalFile(family), family };
}

export function createServices(input: {
  config: Config;
  store: StoreConnection;
  clock: Clock;
  /** How the balance refresh and coalescing waiters wait; default real timers. */
  timers?: Timers;
  log: Logger;
  upstream?: UpstreamClient;
  tracer?: Tracer;
  /** Hears every store error, before the throttled log (metrics count them). */
  onStoreError?: (err: unknown) => void;
  /** Hears every settlement the ledger recorded (metrics count tokens spent there). */
  onSettled?: (input: SettleInput) => void;
  /** The name the bootstrap admin token acts under: "bootstrap", or "cli" in the CLI's direct mode. */
  bootstrapName?: string;
  /** Hears a saving known only after the request (a shared job's cost, once it ended). */
  onSaved?: (team: string, model: string, tokens: number) => void;
  /** False: the settlement journal stays in memory (a process that settles nothing); default true. */
  journal?: boolean;
}): Services {
  const { config, store, clock, log } = input;
  let lastStoreErrorLog = -Infinity;
  let suppressed = 0;
  const storeError = (err: unknown) => {
    input.onStoreError?.(err);
    const now = clock.now();
    if (now - lastStoreErrorLog < STORE_ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    log.error({ err, suppressed }, 'store error');
    lastStoreErrorLog = now;
    suppressed = 0;
  };
  const teamStore = store.kind === 'sqlite' ? createSqliteTeamStore(store) : createRedisTeamStore(store);
  // Replicas sharing Redis take lease and rate-window time from Redis itself (TIME), not from
  // their own clocks; an injected clock (tests) stays the one time source.
  const useRedisTime = clock === systemClock;
  const baseQuotaStore = store.kind === 'sqlite' ? createSqliteQuotaStore(store) : createRedisQuotaStore(store, { useRedisTime });
  // The account floor across replicas: shared on Redis; SQLite serves one instance, held in memory.
  const account: AccountStore = store.kind === 'sqlite' ? createMemoryAccountStore() : createRedisAccountStore(store, { useRedisTime });
  const observed = input.onSettled ? observeSettlements(baseQuotaStore, input.onSettled) : baseQuotaStore;
  const grants = createGrantStore(store);
  const jobs = createJobStore(store);
  // The CLI's direct mode settles nothing: it keeps no file (and takes no other process's).
  const file = input.journal === false ? { path: null, family: null } : journalFile(config, store);
  const journal = new SettlementJournal({
    ...file,
    settle: (i) => observed.settle(i),
    async keepPending({ job, grant }) {
      if (grant) await grants.grant(job.generation_id, job.reservation.team, clock.now());
      await quota.keepPending(job.reservation); // replays run after start-up, once `quota` exists
      await jobs.add(job);
    },
    onError: storeError,
    confirm: store.kind === 'redis' ? () => store.waitReplicas() : undefined,
  });
  const quotaStore = journaled(observed, journal);
  // store.redis_wait_replicas: a WAIT met confirms what the journal kept unconfirmed; a reconnection settles it again.
  if (store.kind === 'redis') {
    store.watch({ caughtUp: (sentAt, epoch) => journal.caughtUp(sentAt, epoch), reconnected: (_outage, epoch) => journal.reconnected(epoch) });
  }
  const upstream = input.upstream ?? createUpstreamClient(config);
  const auth = new Authenticator(teamStore, clock, config.auth.key_cache_ttl_ms);
  const catalog = new Catalog();
  const balance = new AccountBalance(upstream, clock, account, storeError, input.timers);
  const cache = new ResponseCache({
    config: config.cache,
    store: createCacheStore(store),
    coordinator: store.kind === 'redis' ? createRedisFlightCoordinator(store) : null,
    clock,
    timers: input.timers,
    grants,
    category: (model) => catalog.category(model),
    plan: () => balance.snapshot().plan,
    storeError,
  });
  const quota = new QuotaService(quotaStore, catalog, balance, account, config.quota, clock, storeError);
  const savings = new SavingsLedger(quotaStore, clock, storeError);
  const paid = new PaidPath({
    quota,
    upstream,
    balance,
    jobs,
    grants,
    clock,
    timeouts: (model) => config.upstream.timeouts[catalog.category(model)],
    lockMs: config.cache.lock_ms,
    tracer: input.tracer,
    jobEnded: (key, team, model, facts) => cache.jobEnded(key, team, model, facts),
    storeError,
    journalPending: (job, grant) => journal.recordPending(job, grant),
    onSaved: (team, model, tokens, keyId) => {
      savings.addSaved(team, model, tokens, keyId);
      input.onSaved?.(team, model, tokens);
    },
  });
  const reconciler = new Reconciler({
    jobs,
    paid,
    clock,
    intervalMs: config.quota.reconcile_interval_ms,
    log,
    storeError,
  });
  return {
    config,
    clock,
    store,
    teamStore,
    teams: new TeamService(teamStore, clock, () => auth.invalidate(), {
      carryKeySpend: (team, from, to) => quotaStore.carryKeySpend(team, from, to),
      rebase: (team, keys, from, to) => quota.rebase(team, keys, from, to),
    }),
    auth,
    adminTokens: new AdminTokens(
      store.kind === 'sqlite' ? createSqliteTokenStore(store) : createRedisTokenStore(store),
      clock,
      { token: config.admin.token, name: input.bootstrapName ?? 'bootstrap' },
    ),
    audit: new AuditLog(store.kind === 'sqlite' ? createSqliteAuditStore(store) : createRedisAuditStore(store), clock),
    grants,
    jobs,
    quotaStore,
    journal,
    savings,
    quota,
    balance,
    catalog,
    cache,
    upstream,
    paid,
    reconciler,
    streams: new StreamService(),
    log,
    tracer: input.tracer,
    storeError,
  };
}
