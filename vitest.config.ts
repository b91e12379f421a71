import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One Sentinel setup and one Cluster for the run (test/helpers/backends.ts `redisShapes`).
    globalSetup: ['test/global-redis.ts'],
  },
});
