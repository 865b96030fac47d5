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
    ],
  },
});
