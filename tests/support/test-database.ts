import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Db, createDb } from '../../src/adapters/postgres/database.js';
import { migrateToLatest } from '../../src/adapters/postgres/migrate.js';

export interface TestDatabase {
  readonly db: Db;
  readonly url: string;
  readonly schema: string;
}

/**
 * A migrated schema of this test file's own on the shared test server, dropped after the file. Use it
 * at the top of a file: `const database = useTestDatabase();` then `database.db` inside tests.
 */
export function useTestDatabase({ poolSize = 20 }: { poolSize?: number } = {}): TestDatabase {
  const url = inject('databaseUrl');
  const schema = `test_${randomBytes(6).toString('hex')}`;
  let db: Db | undefined;

  beforeAll(async () => {
    await withAdminClient(url, (client) => client.query(`CREATE SCHEMA ${schema}`));
    db = createDb({ url, schema, poolSize, preparedStatements: true });
    await migrateToLatest(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await withAdminClient(url, (client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
  });

  return {
    url,
    schema,
    get db(): Db {
      if (!db) throw new Error('the test database is ready only inside tests and hooks');
      return db;
    },
  };
}

async function withAdminClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Reads one number with plain SQL, to check what the adapters wrote without going through them. */
export async function scalar(db: Db, query: ReturnType<typeof sql<{ value: number }>>): Promise<number> {
  const { rows } = await query.execute(db);
  return Number(rows[0]?.value);
}

/**
 * Resolves once the database's now() has reached `instant`: for what the database judges by its own clock
 * (an issue window, say), which no test clock moves.
 */
export async function untilTheDatabaseClockPasses(db: Db, instant: Date | string): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ past: boolean }>`SELECT now() >= ${new Date(instant)} AS past`.execute(db);
    if (rows[0]!.past) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
