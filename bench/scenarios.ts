// The scenarios: which bodies each one sends to which server, and what is measured around
// the load (the server process's CPU time and RSS, the upstream calls the simulator counted).
// Prompts carry a per-run id, so no scenario can hit what an earlier one cached.
import { randomUUID } from 'node:crypto';
import { fire, GENERATE_PATH, type LoadResult } from './load.js';
import type { ServerProcess } from './processes.js';
import type { Settings } from './settings.js';

export interface Row {
  group: string;
  name: string;
  load: LoadResult;
  /** CPU time (user + system) of the measured server process per answered request. */
  cpuUsPerReq: number;
  rssMb: number;
  /** RSS before the measured load (after the warm-up). */
  rssBeforeMb: number;
  heapMb: number;
  /** Buffers and other memory outside the JS heap that JS objects hold. */
  externalMb: number;
  /** Generate calls the simulator received during the measured load. */
  upstreamCalls: number;
  note?: string;
}

export interface Target {
  server: ServerProcess;
  /** The bearer key this server expects: the simulator's nb_ key or a team key. */
  key: string;
}

type NextBody = () => string;
const MODEL = 'gpt-5-nano';
const runId = randomUUID().slice(0, 8);
const body = (prompt: string) => JSON.stringify({ model: MODEL, prompt });

/** A new prompt for every request. */
export function distinct(tag: string): NextBody {
  let n = 0;
  return () => body(`${runId} ${tag} ${n++}`);
}

/** `count` prompts, over and over. */
export function repeated(tag: string, count: number): NextBody {
  let n = 0;
  return () => body(`${runId} ${tag} ${n++ % count}`);
}

const MB = 1024 * 1024;

export class Bench {
  constructor(
    readonly settings: Settings,
    private readonly sim: ServerProcess,
  ) {}

  async upstreamCalls(): Promise<number> {
    const res = await fetch(`${this.sim.url}/__sim/calls`);
    return ((await res.json()) as { total_generate_calls: number }).total_generate_calls;
  }

  /** Warm-up load (unmeasured), then the measured load with stats taken around it. */
  async measure(
    group: string,
    name: string,
    target: Target,
    next: NextBody,
    shape: { amount?: number; connections?: number; maxSeconds?: number; warmup?: boolean } = {},
  ): Promise<Row> {
    const { settings } = this;
    const plan = {
      url: target.server.url,
      headers: { authorization: `Bearer ${target.key}` },
      body: next,
      connections: shape.connections ?? settings.connections,
      durationS: settings.durationS,
      amount: shape.amount,
      maxSeconds: shape.maxSeconds,
    };
    // The simulator counts calls per distinct body: start each row from empty counters, so its
    // memory (and GC) does not grow from row to row and every row sees the same upstream.
    await fetch(`${this.sim.url}/__sim/reset`, { method: 'POST' });
    if (shape.warmup !== false && settings.warmupS > 0) await fire({ ...plan, durationS: settings.warmupS, amount: undefined });
    const callsBefore = await this.upstreamCalls();
    const before = await target.server.stats();
    const load = await fire(plan);
    const after = await target.server.stats();
    const cpuUs = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
    return {
      group,
      name,
      load,
      cpuUsPerReq: load.requests > 0 ? cpuUs / load.requests : 0,
      rssMb: after.rss / MB,
      rssBeforeMb: before.rss / MB,
      heapMb: after.heapUsed / MB,
      externalMb: after.external / MB,
      upstreamCalls: (await this.upstreamCalls()) - callsBefore,
    };
  }

  async post(target: Target, text: string): Promise<{ status: number; cache: string | null }> {
    const res = await fetch(target.server.url + GENERATE_PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' },
      body: text,
    });
    await res.arrayBuffer();
    return { status: res.status, cache: res.headers.get('x-gateway-cache') };
  }
}

/** Distinct prompts: every request goes the whole paid way (or is refused, for a team at budget 0). */
export function missPath(bench: Bench, group: string, name: string, target: Target): Promise<Row> {
  return bench.measure(group, name, target, distinct(`${group} ${name}`));
}

/** Repeated prompts after one warm-up call each; says so when the answer is not a cache hit. */
export async function hitPath(bench: Bench, group: string, target: Target): Promise<Row> {
  const tag = `${group} hit`;
  const warm = repeated(tag, bench.settings.hitPrompts);
  for (let i = 0; i < bench.settings.hitPrompts; i++) await bench.post(target, warm());
  const check = await bench.post(target, warm());
  const row = await bench.measure(group, 'hit', target, repeated(tag, bench.settings.hitPrompts));
  if (check.cache !== 'hit') {
    row.note = `no cache hit after a warm-up call (status ${check.status}, x-gateway-cache: ${check.cache ?? 'absent'}): this row measures the miss path`;
  }
  return row;
}

/** N identical requests at once, several rounds; the row keeps the worst round's upstream calls. */
export async function burst(bench: Bench, group: string, target: Target): Promise<Row> {
  const { burstSize, burstRounds } = bench.settings;
  const rows: Row[] = [];
  for (let round = 0; round < burstRounds; round++) {
    const same = repeated(`${group} burst ${round}`, 1);
    rows.push(await bench.measure(group, 'burst', target, same, { amount: burstSize, connections: burstSize, warmup: false }));
  }
  const worst = rows.reduce((a, b) => (b.upstreamCalls > a.upstreamCalls ? b : a));
  const perRound = rows.map((r) => r.upstreamCalls).join(', ');
  return { ...worst, name: `burst x${burstSize}`, note: `upstream calls per burst of ${burstSize}: ${perRound}` };
}
