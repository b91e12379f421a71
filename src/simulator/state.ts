// The simulator's mutable state: account balance, generations, call counters, injected faults,
// stream holds and the rate-limit windows. The routes read and change it; the Simulator handle
// exposes it to tests.
import type { Socket } from 'node:net';
import type { CatalogModel } from './catalog.js';
import { canonicalBody } from './canonical.js';
import { fillResult, type Generation } from './generations.js';
import { RateLimits } from './rate-limit.js';

export type FaultKind = 429 | 500 | 503 | 'drop' | 'timeout';

export interface ResolvedOptions {
  apiKey: string;
  plan: string;
  latencyMs: number;
  videoDelayMs: number;
  streamChunkDelayMs: number;
  abortOnDisconnect: boolean;
  now: () => number;
}

/** Generations kept for polling/history; the oldest are forgotten past this (long benchmarks). */
const MAX_KEPT = 100_000;
const GENERATE_ROUTES = ['POST /api/v2/generate', 'POST /api/v2/generate/stream'];

export class SimState {
  balance: number;
  tokensCharged = 0;
  readonly generations = new Map<number, Generation>();
  private nextId = 18473;
  private routeCalls = new Map<string, number>();
  private bodyCalls = new Map<string, number>();
  private faults: FaultKind[] = [];
  private holding = false;
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => {};
  /** sockets of 'timeout' faults, destroyed by close() */
  readonly hanging = new Set<Socket>();
  private timers = new Set<NodeJS.Timeout>();
  closed = false;
  readonly rate: RateLimits;

  constructor(readonly opts: ResolvedOptions, balance: number) {
    this.balance = balance;
    this.rate = new RateLimits(opts.plan, opts.now);
  }

  countRoute(key: string): void {
    this.routeCalls.set(key, (this.routeCalls.get(key) ?? 0) + 1);
  }

  countBody(body: unknown): void {
    const key = canonicalBody(body);
    this.bodyCalls.set(key, (this.bodyCalls.get(key) ?? 0) + 1);
  }

  callsFor(body: unknown): number {
    return this.bodyCalls.get(canonicalBody(body)) ?? 0;
  }

  calls(): Record<string, number> {
    return Object.fromEntries(this.routeCalls);
  }

  totalGenerateCalls(): number {
    return GENERATE_ROUTES.reduce((sum, k) => sum + (this.routeCalls.get(k) ?? 0), 0);
  }

  injectFault(kind: FaultKind, count = 1): void {
    for (let i = 0; i < count; i++) this.faults.push(kind);
  }

  takeFault(): FaultKind | undefined {
    return this.faults.shift();
  }

  newGeneration(model: CatalogModel, body: Record<string, unknown>, input: string, cost: number): Generation {
    const gen: Generation = {
      id: this.nextId++, model, status: 'pending', createdAt: this.opts.now(), cost, input, body,
      result_text: null, result_url: null, thumbnail_url: null, error: null,
      tokens_spent: 0, processing_ms: 0, result_metadata: null,
    };
    this.generations.set(gen.id, gen);
    if (this.generations.size > MAX_KEPT) this.generations.delete(this.generations.keys().next().value as number);
    return gen;
  }

  /** Complete `gen` and debit the balance by its cost. */
  complete(gen: Generation, processingMs: number): void {
    fillResult(gen);
    gen.processing_ms = processingMs;
    this.balance -= gen.tokens_spent;
    this.tokensCharged += gen.tokens_spent;
  }

  /** A pending job completes once videoDelayMs of simulator-clock time has passed. */
  settle(gen: Generation): Generation {
    if (gen.status === 'pending' && gen.model.category === 'video') {
      const elapsed = this.opts.now() - gen.createdAt;
      if (elapsed >= this.opts.videoDelayMs) this.complete(gen, Math.max(0, elapsed));
    }
    return gen;
  }

  holdStreams(on: boolean): void {
    this.holding = on;
    if (!on) this.releaseStreams();
  }

  /** Resolves at once unless streams are held; then when releaseStreams() is called. */
  streamGate(): Promise<void> | null {
    if (!this.holding) return null;
    if (!this.gate) this.gate = new Promise<void>((resolve) => (this.openGate = resolve));
    return this.gate;
  }

  releaseStreams(): void {
    const open = this.openGate;
    this.gate = null;
    this.openGate = () => {};
    open();
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Counters back to zero; pending faults dropped. Balance, generations and ids stay. */
  reset(): void {
    this.routeCalls.clear();
    this.bodyCalls.clear();
    this.tokensCharged = 0;
    this.faults = [];
    this.rate.reset();
  }

  /** Release everything a request may be waiting on, so close() never hangs. */
  shutdown(): void {
    this.closed = true;
    this.holding = false;
    this.releaseStreams();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.hanging) s.destroy();
    this.hanging.clear();
  }
}
