import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './test-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** One PostgreSQL server per test project; every test file then works in a schema of its own. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestPostgres();
  console.log(`[${project.name}] PostgreSQL for tests: ${server.source}`);
  project.provide('databaseUrl', server.url);
  return () => server.stop();
}
