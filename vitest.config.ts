import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Adapter and e2e suites start real servers (DynamoDB Local on Java, s3rver, the local stack).
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
