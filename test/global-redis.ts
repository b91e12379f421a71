// Vitest global setup: one Sentinel setup and one Cluster for the whole run, on free ports,
// shared by every file through `inject` (each test keeps to a key prefix of its own), and
// stopped when the run ends. Tests that break a server (failover) start their own.
import type { TestProject } from 'vitest/node';
import { startCluster } from './helpers/redis-cluster.js';
import { startSentinelSetup } from './helpers/redis-servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisSentinelUrl: string;
    redisClusterUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [sentinel, cluster] = await Promise.all([startSentinelSetup(), startCluster()]);
  project.provide('redisSentinelUrl', sentinel.url);
  project.provide('redisClusterUrl', cluster.url);
  return async () => {
    await Promise.all([sentinel.stop(), cluster.stop()]);
  };
}
