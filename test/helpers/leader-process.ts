// A stream leader as a process of its own (the built CLI) on the test's Redis, with a short cache
// lock and a settlement journal of its own in `dir`: the replica the leader-death tests kill.
// Followers in the test's process take the same `LEADER_CACHE` settings.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Simulator } from '../../src/simulator/index.js';
import type { StoreConnection } from '../../src/store/connection.js';
import { redisUrl } from './backends.js';
import { startChildGateway, type ChildGateway } from './child.js';

export const LEADER_CACHE = { lock_ms: 300, poll_ms: 20 };

export async function startLeaderProcess(sim: Simulator, conn: StoreConnection, dir: string): Promise<ChildGateway> {
  const configFile = join(dir, 'gateway.yaml');
  const { lock_ms, poll_ms } = LEADER_CACHE;
  writeFileSync(configFile, `cache:\n  lock_ms: ${lock_ms}\n  poll_ms: ${poll_ms}\nquota:\n  settlement_journal: ${join(dir, 'leader.journal')}\n`);
  return startChildGateway({
    ELUMENTA_API_KEY: sim.apiKey,
    ELUMENTA_BASE_URL: sim.url,
    GATEWAY_ADMIN_TOKEN: randomBytes(24).toString('hex'),
    GATEWAY_CONFIG: configFile,
    STORE_URL: redisUrl,
    GATEWAY_REDIS_PREFIX: conn.kind === 'redis' ? conn.prefix : '',
  });
}
