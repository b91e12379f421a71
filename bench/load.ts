// Drives load with autocannon (as a library) and reduces its result to what the report
// shows. Every scenario goes through `fire` with the same connections and pipelining 1; the
// body of the i-th request comes from the scenario, so prompts can be distinct or repeated.
import autocannon from 'autocannon';

export interface LoadPlan {
  url: string;
  headers: Record<string, string>;
  /** The body of the i-th request of this run. */
  body: (i: number) => string;
  connections: number;
  /** Run for this long... */
  durationS?: number;
  /** ...or until this many answers (then `maxSeconds` bounds it). */
  amount?: number;
  maxSeconds?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers per HTTP status, e.g. { '200': 9000 }. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

export const GENERATE_PATH = '/api/v2/generate';

export async function fire(plan: LoadPlan): Promise<LoadResult> {
  let i = 0;
  // Without a callback autocannon returns its tracker, which is both thenable and stoppable.
  const instance = autocannon({
    url: plan.url + GENERATE_PATH,
    connections: plan.connections,
    pipelining: 1,
    duration: plan.durationS ?? 10,
    amount: plan.amount,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...plan.headers },
        setupRequest: (request) => ({ ...request, body: plan.body(i++) }),
      },
    ],
  }) as Promise<autocannon.Result> & { stop(): void };
  const guard = plan.maxSeconds ? setTimeout(() => instance.stop(), plan.maxSeconds * 1000) : undefined;
  const result = await instance;
  clearTimeout(guard);
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    requests,
    durationS: result.duration,
    reqPerSec: result.duration > 0 ? requests / result.duration : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
