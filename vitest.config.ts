import { defineConfig } from 'vitest/config';

type JsonReporter = ['json', { outputFile: string }];
// On CI, each run also writes a JSON report; .ci/run adds them up into one "N passed, N failed" line.
const ciReport: JsonReporter[] = process.env.CI
  ? [['json', { outputFile: `.vitest-results/${Date.now()}-${process.pid}.json` }]]
  : [];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Adapter and e2e suites start real servers (DynamoDB Local on Java, s3rver, the local stack).
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', ...ciReport],
  },
});
