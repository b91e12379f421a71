// `elumenta-gateway simulate`: the bundled upstream simulator as a process, for the demo,
// manual trials and the benchmark.
import { startSimulator } from '../simulator/index.js';

export interface SimulateOptions {
  port: number;
  host: string;
  key: string;
  balance: number;
  latencyMs: number;
  videoDelayMs: number;
  chunkDelayMs: number;
}

export async function runSimulator(o: SimulateOptions): Promise<void> {
  const sim = await startSimulator({
    host: o.host,
    port: o.port,
    apiKey: o.key,
    balance: o.balance,
    latencyMs: o.latencyMs,
    videoDelayMs: o.videoDelayMs,
    streamChunkDelayMs: o.chunkDelayMs,
  });
  process.stdout.write(`simulator listening on ${sim.url}, accepting the key ${o.key}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
