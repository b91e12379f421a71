// The failover tests alone (`npm run test:failover`): each starts and breaks a Sentinel setup of
// its own, so the shared Sentinel setup and Cluster of `npm test` (test/global-redis.ts) are not started.
import { defineConfig } from 'vitest/config';
import { SLOW } from './vitest.config.js';

export default defineConfig({
  test: {
    include: SLOW,
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
