import { defineConfig } from 'vitest/config';

const databaseSetup = './tests/support/global-database.ts';

export default defineConfig({
  test: {
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.unit.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.integration.test.ts'],
          globalSetup: [databaseSetup],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.e2e.test.ts'],
          globalSetup: [databaseSetup],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Real processes killed, PostgreSQL restarted, the platform down: about a minute and a half, so
        // `npm test` names the three tiers above and `npm run test:faults` runs this one.
        test: {
          name: 'faults',
          include: ['tests/faults/**/*.faults.test.ts'],
          globalSetup: [databaseSetup],
          // One file at a time: each drives service processes and PostgreSQL hard on two cores.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Past one database server: each file starts its own primary, streaming replica and PgBouncer
        // (tests/scale/support/cluster.ts), so it needs no database setup, and is run apart as
        // `npm run test:scale` since it needs PgBouncer installed.
        test: {
          name: 'scale',
          include: ['tests/scale/**/*.scale.test.ts'],
          // One file at a time: each runs two PostgreSQL servers and PgBouncer, and the service processes it tests.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
