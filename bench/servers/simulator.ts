// Benchmark upstream: the bundled simulator in a process of its own, with a balance no run
// can exhaust, so its CPU is never counted as the gateway's or the reference's.
import { startSimulator } from '../../src/simulator/index.js';
import { serveChild } from './child.js';

const { latencyMs } = JSON.parse(process.argv[2] ?? '{}') as { latencyMs?: number };

await serveChild(async () => {
  const sim = await startSimulator({ balance: 1e13, latencyMs: latencyMs ?? 0 });
  return { url: sim.url, close: () => sim.close() };
});
