// The gateway's Prometheus metrics, on a registry passed in (never prom-client's global one).
// Label values come only from bounded sets: configured teams (`none` when no team key was
// accepted), catalog models (`other` for the rest), outcomes, HTTP statuses; never a key or a prompt.
import { Counter, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { RequestFacts } from '../http/context.js';
import type { SettleInput } from '../quota/quota-store.js';
import type { SharedState } from './shared-state.js';

export const METRIC_PREFIX = 'elumenta_gateway_';
/** Video runs for minutes: the upstream histogram reaches 300 s. */
export const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
export const OUTCOMES = ['upstream', 'hit', 'coalesced', 'quota_rejected', 'rate_limited', 'error'] as const;
export const NO_TEAM = 'none';

/** Turns a raw model slug into a bounded label value. */
export type ModelLabel = (slug: string | undefined) => string;

/** How a generate request ended, from what it learned; a fallback when no step said so. */
export function outcomeOf(facts: RequestFacts, status: number): string {
  const said = facts.outcome;
  if (said && (OUTCOMES as readonly string[]).includes(said)) return said;
  if (facts.cache === 'hit' || facts.cache === 'coalesced') return facts.cache;
  return status >= 400 ? 'error' : 'upstream';
}

export class GatewayMetrics {
  private modelLabel: ModelLabel = () => 'other';
  private readonly tokensSpent: Counter<'team' | 'model'>;
  private readonly tokensSaved: Counter<'team' | 'model'>;
  private readonly requests: Counter<'team' | 'model' | 'outcome'>;
  private readonly upstreamSeconds: Histogram<'model' | 'status'>;
  private readonly overheadSeconds: Histogram<'outcome'>;
  private readonly storeErrors: Counter;
  private readonly storeReconnects: Histogram;
  private readonly storeWaitShort: Counter;
  private readonly ttfbSeconds: Histogram<'model' | 'cache'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    this.tokensSpent = new Counter({
      name: `${METRIC_PREFIX}tokens_spent_total`,
      help: 'Tokens upstream charged, counted once per settlement (as the ledger counts them)',
      labelNames: ['team', 'model'],
      registers,
    });
    this.tokensSaved = new Counter({
      name: `${METRIC_PREFIX}tokens_saved_total`,
      help: 'Tokens a cache hit or coalesced answer did not spend',
      labelNames: ['team', 'model'],
      registers,
    });
    this.requests = new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'Generate requests by how they ended: upstream, hit, coalesced, quota_rejected, rate_limited, error',
      labelNames: ['team', 'model', 'outcome'],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: `${METRIC_PREFIX}upstream_request_duration_seconds`,
      help: 'Time upstream took to answer a generate request; status is the HTTP status, or `error` when none came',
      labelNames: ['model', 'status'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.overheadSeconds = new Histogram({
      name: `${METRIC_PREFIX}overhead_duration_seconds`,
      help: 'Time the gateway itself added to a generate request (total minus upstream time)',
      labelNames: ['outcome'],
      buckets: OVERHEAD_BUCKETS,
      registers,
    });
    this.ttfbSeconds = new Histogram({
      name: `${METRIC_PREFIX}stream_first_byte_seconds`,
      help: 'Streams: time from the request to its first event at the client, by how the cache answered',
      labelNames: ['model', 'cache'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.storeErrors = new Counter({
      name: `${METRIC_PREFIX}store_errors_total`,
      help: 'Store operations that failed (every call, though logs are throttled)',
      registers,
    });
    this.storeReconnects = new Histogram({
      name: `${METRIC_PREFIX}store_reconnect_seconds`,
      help: 'Redis came back (restart, Sentinel failover): time from losing it to serving again; _count counts reconnections',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.storeWaitShort = new Counter({
      name: `${METRIC_PREFIX}store_replica_wait_short_total`,
      help: 'WAITs (store.redis_wait_replicas) that fewer replicas than asked acknowledged in time',
      registers,
    });
  }

  /** Binds the catalog's model labels and the store-backed gauges, once services exist. */
  attach(modelLabel: ModelLabel, state: SharedState): void {
    this.modelLabel = modelLabel;
    state.register(this.registry);
  }

  /** A settlement was written to the ledger: count what upstream charged. */
  settled(input: SettleInput): void {
    if (input.actual > 0) this.tokensSpent.inc({ team: input.team, model: this.modelLabel(input.model) }, input.actual);
  }

  /** A saving known after its request ended (a shared job's cost). */
  saved(team: string, model: string, tokens: number): void {
    if (tokens > 0) this.tokensSaved.inc({ team, model: this.modelLabel(model) }, tokens);
  }

  storeError(): void {
    this.storeErrors.inc();
  }

  storeReconnected(downMs: number): void {
    this.storeReconnects.observe(downMs / 1000);
  }

  replicaWaitShort(): void {
    this.storeWaitShort.inc();
  }

  /** One finished generate request. `team` is set only for a principal that authenticated. */
  observeGenerate(facts: RequestFacts, team: string | undefined, status: number, elapsedMs: number): void {
    const model = this.modelLabel(facts.model);
    const outcome = outcomeOf(facts, status);
    const teamLabel = team ?? NO_TEAM;
    this.requests.inc({ team: teamLabel, model, outcome });
    if (facts.tokensSaved && facts.tokensSaved > 0) this.tokensSaved.inc({ team: teamLabel, model }, facts.tokensSaved);
    let upstreamMs = 0;
    if (facts.upstreamMs !== undefined) {
      upstreamMs = facts.upstreamMs;
      const statusLabel = facts.upstreamStatus === undefined ? 'error' : String(facts.upstreamStatus);
      this.upstreamSeconds.observe({ model, status: statusLabel }, upstreamMs / 1000);
    }
    this.overheadSeconds.observe({ outcome }, Math.max(0, elapsedMs - upstreamMs) / 1000);
    if (facts.ttfbMs !== undefined) this.ttfbSeconds.observe({ model, cache: facts.cache ?? 'bypass' }, facts.ttfbMs / 1000);
  }
}
