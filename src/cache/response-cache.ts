// The response cache: an in-process L1 (bounded by bytes) in front of the store's L2 that
// every replica shares, the single-flight of identical requests, and poll entitlements for
// teams handed someone else's generation. It fails soft: a store error is logged (throttled)
// and the request goes on without the cache; it never fails a request by itself.
import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { Category, Config } from '../config/schema.js';
import type { GenerationFacts } from '../generate/generation.js';
import type { GrantStore } from '../generations/grant-store.js';
import { answerBytes, decodeAnswer, encodeAnswer, sharedBody, type CachedAnswer } from './cached-answer.js';
import { ttlFor, type CachePlan } from './cache-policy.js';
import type { CacheStore } from './cache-store.js';
import { ByteLru } from './memory-lru.js';
import type { FlightCoordinator, LiveField } from './redis-flight-coordinator.js';
import { awaitLeader, leadOrFollow, type Leadership, type RemoteFeed, type ReplicaFlightDeps } from './replica-flight.js';
import { SingleFlight, type Shared } from './single-flight.js';

export interface ResponseCacheDeps {
  config: Config['cache'];
  store: CacheStore;
  /** Redis only: single-flight across replicas. SQLite has one instance: in-process is enough. */
  coordinator: FlightCoordinator | null;
  clock: Clock;
  /** What a coalescing waiter's wait runs on; default real timers. */
  timers?: Timers;
  grants: GrantStore;
  category(model: string): Category;
  /** The account's plan as last seen (media retention depends on it). */
  plan(): string | null;
  storeError(err: unknown): void;
}

export interface Lookup {
  answer: CachedAnswer | null;
  /** False when the shared store could not be read: the request goes on as a bypass. */
  available: boolean;
}

interface Held {
  answer: CachedAnswer;
  /** Teams already entitled to poll its generation, so L1 hits do not write grants again. */
  grantedTo: Set<string>;
}

/** After a store error, the L2 is left alone this long, so an outage does not slow every request. */
const BACKOFF_MS = 1_000;
const MAX_GRANT_MEMO = 32;

export class ResponseCache {
  readonly flights = new SingleFlight();
  readonly l1: ByteLru<Held>;
  /** What a coalescing waiter's wait runs on (its bound is counted on the clock). */
  readonly timers: Timers;
  private downUntil = 0;

  constructor(private readonly deps: ResponseCacheDeps) {
    this.l1 = new ByteLru<Held>(deps.config.memory_max_bytes, deps.clock);
    this.timers = deps.timers ?? systemTimers;
  }

  private get now(): number {
    return this.deps.clock.now();
  }

  private available(): boolean {
    return performance.now() >= this.downUntil;
  }

  /** False while the shared store is failing (and left alone): answers then say `bypass`. */
  get storeAvailable(): boolean {
    return this.available();
  }

  private fail(err: unknown): void {
    this.downUntil = performance.now() + BACKOFF_MS;
    this.deps.storeError(err);
  }

  /** A store call bounded by cache.store_timeout_ms: a slow store counts as a failed one. */
  private timed<T>(work: Promise<T>): Promise<T> {
    const ms = this.deps.config.store_timeout_ms;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`cache store did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private async readStore(key: string): Promise<CachedAnswer | null> {
    const raw = await this.timed(this.deps.store.get(key, this.now));
    const answer = raw ? decodeAnswer(raw) : null;
    if (answer?.kind === 'completed') this.hold(key, answer);
    return answer;
  }

  private hold(key: string, answer: CachedAnswer): void {
    this.l1.set(key, { answer, grantedTo: new Set([answer.team]) }, answerBytes(key, answer), answer.expiresAt);
  }

  /** L1, then L2. Pending entries live in L2 only, so every replica sees a job's completion. */
  async lookup(key: string): Promise<Lookup> {
    const held = this.l1.get(key);
    if (held) return { answer: held.answer, available: true };
    if (!this.available()) return { answer: null, available: false };
    try {
      return { answer: await this.readStore(key), available: true };
    } catch (err) {
      this.fail(err);
      return { answer: null, available: false };
    }
  }

  /** Completed answers go to L1 and L2; pending ones to L2 only. */
  private async write(key: string, answer: CachedAnswer): Promise<void> {
    if (answer.kind === 'completed') this.hold(key, answer);
    if (!this.available()) return;
    try {
      await this.timed(this.deps.store.set(key, encodeAnswer(answer), answer.expiresAt, this.now));
    } catch (err) {
      this.fail(err);
    }
  }

  private completed(json: Record<string, unknown>, facts: GenerationFacts, team: string, model: string, ttlMs: number) {
    const answer: CachedAnswer = {
      kind: 'completed',
      body: sharedBody(json),
      tokensSaved: facts.tokensSpent,
      generationId: facts.id,
      team,
      model,
      ttlMs: null,
      expiresAt: this.now + ttlMs,
    };
    return answer;
  }

  private ttl(model: string, json: Record<string, unknown>, override: number | null): number {
    const isMedia = typeof json.result_url === 'string' && json.result_url !== '';
    return ttlFor(this.deps.config, this.deps.category(model), isMedia, override, this.deps.plan());
  }

  /**
   * Keeps what upstream answered the request that went there: completed results (L1 and L2),
   * pending jobs as in flight (L2). Returns what identical requests waiting on it may share.
   */
  async remember(plan: CachePlan, status: number, facts: GenerationFacts, team: string, model: string): Promise<Shared> {
    const json = facts.json;
    if (status !== 200 || !json) return null;
    if (facts.status === 'completed') {
      const ttlMs = this.ttl(model, json, plan.ttlOverrideMs);
      const answer = this.completed(json, facts, team, model, ttlMs);
      if (plan.write && ttlMs > 0) await this.write(plan.key, answer);
      return answer;
    }
    const base = { body: sharedBody(json), tokensSaved: 0, generationId: facts.id, team, model, ttlMs: null, expiresAt: 0 };
    if (facts.status === 'failed') return { ...base, kind: 'failed' };
    if (facts.status !== 'pending' || !facts.id) return null;
    const pending: CachedAnswer = {
      ...base,
      kind: 'pending',
      ttlMs: plan.ttlOverrideMs,
      expiresAt: this.now + this.deps.config.pending_ttl_s * 1000,
    };
    if (plan.write) await this.write(plan.key, pending);
    return pending;
  }

  /** A pending job under `key` ended (seen by a poll or the reconciler): cache its result, or forget it. */
  async jobEnded(key: string, team: string, model: string, facts: GenerationFacts): Promise<void> {
    if (!facts.id || !this.available()) return;
    try {
      const recorded = await this.readStore(key);
      const ours = recorded?.kind === 'pending' && recorded.generationId === facts.id ? recorded : null;
      if (facts.status === 'completed' && facts.json) {
        if (recorded?.kind === 'completed') return; // an answer is already cached: keep it
        const ttlMs = this.ttl(model, facts.json, ours?.ttlMs ?? null);
        if (ttlMs > 0) await this.write(key, this.completed(facts.json, facts, ours?.team ?? team, model, ttlMs));
      } else if (ours) {
        await this.timed(this.deps.store.delete(key));
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Lets `team` poll the shared answer's generation: awaited for pending jobs, in the background otherwise. */
  async entitle(key: string, answer: CachedAnswer, team: string): Promise<void> {
    const id = answer.generationId;
    if (!id || answer.team === team) return;
    const grant = () => this.deps.grants.grant(id, team, this.now, true).catch((err: unknown) => this.deps.storeError(err));
    if (answer.kind === 'pending') return grant();
    const held = answer.kind === 'completed' ? this.l1.get(key) : undefined;
    if (held?.grantedTo.has(team)) return;
    if (held && held.grantedTo.size < MAX_GRANT_MEMO) held.grantedTo.add(team);
    void grant();
  }

  private replicaDeps(): ReplicaFlightDeps | null {
    const coordinator = this.deps.coordinator;
    if (!coordinator || !this.available()) return null;
    return {
      coordinator,
      config: this.deps.config,
      clock: this.deps.clock,
      timers: this.timers,
      read: (k: string) => this.readStore(k),
      timed: <T>(work: Promise<T>) => this.timed(work),
      onError: (err: unknown) => this.fail(err),
      storeError: this.deps.storeError,
    };
  }

  /** Cross-replica single-flight (Redis): lead the key, or wait for the replica that does (./replica-flight.ts). */
  async awaitLeader(key: string, boundMs: number): Promise<Leadership> {
    const deps = this.replicaDeps();
    return deps ? awaitLeader(deps, key, boundMs) : { lock: null };
  }

  /** The same for a stream: lead, take the answer, or follow the leading replica's live events. */
  async leadOrFollow(key: string): Promise<Leadership | { remote: RemoteFeed }> {
    const deps = this.replicaDeps();
    return deps ? leadOrFollow(deps, key) : { lock: null };
  }

  /** True when replicas coordinate through the store (Redis) and it answers. */
  get coordinated(): boolean {
    return this.deps.coordinator !== null && this.available();
  }

  /** Mirrors a streamed leader's entries to other replicas (Redis); null without a coordinator. */
  liveMirror(key: string): ((field: LiveField, value: string) => void) | null {
    const coordinator = this.deps.coordinator;
    if (!coordinator) return null;
    return (field, value) => void coordinator.appendLive(key, field, value).catch((err: unknown) => this.deps.storeError(err));
  }

  async close(): Promise<void> {
    await this.deps.coordinator?.close();
    this.l1.clear();
  }
}
