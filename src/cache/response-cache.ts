// The response cache: what upstream's answers leave in the L1/L2 (./answer-tiers.ts) and for how
// long, the single-flight of identical requests (in process and, on Redis, across replicas), and
// poll entitlements for teams handed someone else's generation. It never fails a request by itself.
import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { Category, Config } from '../config/schema.js';
import type { GenerationFacts } from '../generate/generation.js';
import type { GrantStore } from '../generations/grant-store.js';
import { AnswerTiers, type Lookup } from './answer-tiers.js';
import { sharedBody, type CachedAnswer } from './cached-answer.js';
import { ttlFor, type CachePlan } from './cache-policy.js';
import type { CacheStore } from './cache-store.js';
import type { FlightCoordinator, LiveField } from './redis-flight-coordinator.js';
import { KeyFlight, leadOrFollow, type KeyLock, type Leadership, type RemoteFeed, type ReplicaFlightDeps, type StoreLook } from './replica-flight.js';
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

const MAX_GRANT_MEMO = 32;

export class ResponseCache {
  readonly flights = new SingleFlight();
  readonly l1: AnswerTiers['l1'];
  /** What a coalescing waiter's wait runs on (its bound is counted on the clock). */
  readonly timers: Timers;
  private readonly answers: AnswerTiers;
  /** What the single-flight across replicas uses (Redis); null without a coordinator. */
  private readonly flightDeps: ReplicaFlightDeps | null;

  constructor(private readonly deps: ResponseCacheDeps) {
    this.answers = new AnswerTiers(deps.config, deps.store, deps.clock, deps.storeError);
    this.l1 = this.answers.l1;
    this.timers = deps.timers ?? systemTimers;
    this.flightDeps = this.replicaFlightDeps();
  }

  private get now(): number {
    return this.deps.clock.now();
  }

  /** False while the shared store is failing (and left alone): answers then say `bypass`. */
  get storeAvailable(): boolean {
    return this.answers.available;
  }

  /** The L1's answer for `key`, if any (completed answers only). */
  held(key: string): CachedAnswer | null {
    return this.answers.held(key);
  }

  /** L1, then L2. Pending entries live in L2 only, so every replica sees a job's completion. */
  lookup(key: string): Promise<Lookup> {
    return this.answers.lookup(key);
  }

  /**
   * The L2 for the request leading `key` on this replica. On Redis one step reads the answer or
   * takes the key's lock (./replica-flight.ts), so no other replica's answer lands unseen between.
   */
  async look(key: string): Promise<StoreLook> {
    if (!this.answers.available) return { lock: null, available: false };
    const deps = this.replicaDeps();
    try {
      if (!deps) {
        const answer = await this.answers.read(key);
        return answer ? { answer } : { lock: null, available: true };
      }
      const flight = new KeyFlight(deps, key);
      const seen = await flight.look();
      if (!seen) return { follow: (boundMs) => flight.follow(boundMs) };
      return 'answer' in seen ? seen : { lock: seen.lock, available: true };
    } catch (err) {
      this.answers.fail(err);
      return { lock: null, available: false };
    }
  }

  private completed(json: Record<string, unknown>, facts: GenerationFacts, team: string, model: string, ttlMs: number): CachedAnswer {
    const { id: generationId, tokensSpent: tokensSaved } = facts;
    return { kind: 'completed', body: sharedBody(json), tokensSaved, generationId, team, model, ttlMs: null, expiresAt: this.now + ttlMs };
  }

  private ttl(model: string, json: Record<string, unknown>, override: number | null): number {
    const isMedia = typeof json.result_url === 'string' && json.result_url !== '';
    return ttlFor(this.deps.config, this.deps.category(model), isMedia, override, this.deps.plan());
  }

  /**
   * Keeps what upstream answered the request that went there: completed results (L1 and L2),
   * pending jobs as in flight (L2). Returns what identical requests waiting on it may share.
   * `lock`, the key's (Redis), is let go with the write.
   */
  async remember(plan: CachePlan, status: number, facts: GenerationFacts, team: string, model: string, lock: KeyLock | null = null): Promise<Shared> {
    const json = facts.json;
    if (status !== 200 || !json) return null;
    if (facts.status === 'completed') {
      const ttlMs = this.ttl(model, json, plan.ttlOverrideMs);
      const answer = this.completed(json, facts, team, model, ttlMs);
      if (plan.write && ttlMs > 0) await this.answers.write(plan.key, answer, lock);
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
    if (plan.write) await this.answers.write(plan.key, pending, lock);
    return pending;
  }

  /** A pending job under `key` ended (seen by a poll or the reconciler): cache its result, or forget it. */
  async jobEnded(key: string, team: string, model: string, facts: GenerationFacts): Promise<void> {
    if (!facts.id || !this.answers.available) return;
    try {
      const recorded = await this.answers.read(key);
      const ours = recorded?.kind === 'pending' && recorded.generationId === facts.id ? recorded : null;
      if (facts.status === 'completed' && facts.json) {
        if (recorded?.kind === 'completed') return; // an answer is already cached: keep it
        const ttlMs = this.ttl(model, facts.json, ours?.ttlMs ?? null);
        if (ttlMs > 0) await this.answers.write(key, this.completed(facts.json, facts, ours?.team ?? team, model, ttlMs));
      } else if (ours) {
        await this.answers.delete(key);
      }
    } catch (err) {
      this.answers.fail(err);
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

  private replicaFlightDeps(): ReplicaFlightDeps | null {
    const coordinator = this.deps.coordinator;
    if (!coordinator) return null;
    const answers = this.answers;
    return {
      coordinator,
      config: this.deps.config,
      clock: this.deps.clock,
      timers: this.timers,
      read: (k: string) => answers.read(k),
      decode: (k: string, raw: Buffer) => answers.decode(k, raw),
      timed: (work) => answers.timed(work),
      onError: (err) => answers.fail(err),
      storeError: this.deps.storeError,
    };
  }

  /** Replicas coordinate through the store while it answers; null on SQLite or while it fails. */
  private replicaDeps(): ReplicaFlightDeps | null {
    return this.answers.available ? this.flightDeps : null;
  }

  /** For a stream: lead the key across replicas, take the answer there, or follow the leading replica's live events. */
  async leadOrFollow(key: string): Promise<Leadership | { remote: RemoteFeed }> {
    const deps = this.replicaDeps();
    return deps ? leadOrFollow(deps, key) : { lock: null };
  }

  /** True when replicas coordinate through the store (Redis) and it answers. */
  get coordinated(): boolean {
    return this.deps.coordinator !== null && this.answers.available;
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
