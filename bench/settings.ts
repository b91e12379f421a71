// The benchmark's knobs, all from the environment with defaults sized so that the full run
// (references, both backends, the memory run) finishes within about 5 minutes on 2 cores.
export interface Settings {
  /** Seconds of measured load per scenario (BENCH_DURATION_S). */
  durationS: number;
  /** Seconds of unmeasured load before each scenario, for the JIT (BENCH_WARMUP_S). */
  warmupS: number;
  /** autocannon connections, the same for every scenario (BENCH_CONNECTIONS). */
  connections: number;
  /** Distinct prompts the hit scenario repeats (BENCH_HIT_PROMPTS). */
  hitPrompts: number;
  /** Identical concurrent requests per coalescing burst, and how many bursts (BENCH_BURST, BENCH_BURST_ROUNDS). */
  burstSize: number;
  burstRounds: number;
  /** The memory run: requests, distinct prompts among them, and a time bound (BENCH_MEMORY_*). */
  memoryRequests: number;
  memoryPrompts: number;
  /** Unset: whatever is left of the whole run's time budget (BENCH_BUDGET_S, default 290). */
  memoryMaxS: number | null;
  budgetS: number;
  /** Simulated upstream latency in ms (BENCH_SIM_LATENCY_MS). */
  simLatencyMs: number;
  /** Store backends to run the gateway on (BENCH_BACKENDS=sqlite,redis,cluster; cluster: a three-master Redis Cluster the run starts). */
  backends: Array<'sqlite' | 'redis' | 'cluster'>;
  redisUrl: string;
  /** Write V8 CPU profiles of every server process (BENCH_CPU_PROF=1). */
  cpuProfile: boolean;
  /** The console render: teams on the overview and timed page loads (BENCH_CONSOLE_TEAMS, BENCH_CONSOLE_LOADS). */
  consoleTeams: number;
  consoleLoads: number;
  /** Git refs whose gateways run beside this one's, same rows, same run (BENCH_BASELINE, comma-separated). */
  baselines: string[];
  /** Also run this gateway exporting every span to an OTLP/HTTP sink (BENCH_TRACES=1): what tracing costs. */
  traces: boolean;
  /** Which parts to run (BENCH_SCENARIOS, default all), e.g. `miss` alone for a profile. */
  scenarios: Array<(typeof SCENARIOS)[number]>;
}

export const SCENARIOS = ['references', 'miss', 'hit', 'burst', 'reject', 'memory', 'console'] as const;

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: must be a non-negative number, got ${raw}`);
  return value;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const durationS = num(env, 'BENCH_DURATION_S', 10);
  const memoryRequests = Math.round(num(env, 'BENCH_MEMORY_REQUESTS', 1_000_000));
  const backends = (env.BENCH_BACKENDS ?? 'sqlite,redis').split(',').map((b) => b.trim());
  for (const b of backends) if (!['sqlite', 'redis', 'cluster'].includes(b)) throw new Error(`BENCH_BACKENDS: unknown backend ${b}`);
  const scenarios = (env.BENCH_SCENARIOS ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`BENCH_SCENARIOS: unknown ${s} (known: ${SCENARIOS.join(', ')})`);
  }
  return {
    durationS,
    warmupS: num(env, 'BENCH_WARMUP_S', Math.min(2, durationS)),
    connections: Math.max(1, Math.round(num(env, 'BENCH_CONNECTIONS', 50))),
    hitPrompts: Math.max(1, Math.round(num(env, 'BENCH_HIT_PROMPTS', 100))),
    burstSize: Math.max(1, Math.round(num(env, 'BENCH_BURST', 100))),
    burstRounds: Math.max(1, Math.round(num(env, 'BENCH_BURST_ROUNDS', 3))),
    memoryRequests,
    memoryPrompts: Math.max(1, Math.min(memoryRequests, Math.round(num(env, 'BENCH_MEMORY_PROMPTS', 200_000)))),
    memoryMaxS: env.BENCH_MEMORY_MAX_S ? num(env, 'BENCH_MEMORY_MAX_S', 0) : null,
    budgetS: num(env, 'BENCH_BUDGET_S', 290),
    simLatencyMs: num(env, 'BENCH_SIM_LATENCY_MS', 0),
    backends: backends as Settings['backends'],
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    cpuProfile: env.BENCH_CPU_PROF === '1',
    scenarios: scenarios as Settings['scenarios'],
    consoleTeams: Math.max(1, Math.round(num(env, 'BENCH_CONSOLE_TEAMS', 50))),
    consoleLoads: Math.max(1, Math.round(num(env, 'BENCH_CONSOLE_LOADS', 20))),
    traces: env.BENCH_TRACES === '1',
    baselines: (env.BENCH_BASELINE ?? '').split(',').map((b) => b.trim()).filter(Boolean),
  };
}
