import { configDefaults, defineConfig } from 'vitest/config';

/** Real Sentinel failovers take ~40 s: `npm run test:failover` (vitest.failover.config.ts) runs them. */
export const SLOW = ['test/store/failover.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...SLOW],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One Sentinel setup and one Cluster for the run (test/helpers/backends.ts `redisShapes`).
    globalSetup: ['test/global-redis.ts'],
  },
});
