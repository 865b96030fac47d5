import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../../migrations/index.js';
import { migrateToLatest } from '../../../src/adapters/postgres/migrate.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

/** Each function of the schema with the search_path it pins (its proconfig entry, split), if it pins one. */
async function pinnedSearchPaths(): Promise<{ name: string; searchPath: string[] | undefined }[]> {
  const { rows } = await sql<{ name: string; config: string[] | null }>`
    SELECT p.proname AS name, p.proconfig AS config
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema()
    ORDER BY p.proname`.execute(database.db);
  return rows.map(({ name, config }) => {
    const setting = (config ?? []).find((entry) => entry.startsWith('search_path='));
    const searchPath = setting
      ?.slice('search_path='.length)
      .split(',')
      .map((part) => part.trim().replace(/^"(.*)"$/, '$1'));
    return { name, searchPath };
  });
}

describe('the functions the migrations make', () => {
  it('each pin the schema then pg_temp, last, as their search_path', async () => {
    const functions = await pinnedSearchPaths();

    expect(functions.length).toBeGreaterThan(0);
    expect(functions).toEqual(functions.map(({ name }) => ({ name, searchPath: [database.schema, 'pg_temp'] })));
  });

  it('go back to the search_path they were made with when the migration is undone, and forward again', async () => {
    const migrator = new Migrator({
      db: database.db,
      provider: { getMigrations: async () => migrations },
      migrationTableSchema: database.schema,
    });

    const down = await migrator.migrateTo('0007-order-cancellations');
    expect(down.error).toBeUndefined();
    await expect(pinnedSearchPaths()).resolves.toEqual([
      { name: 'coupon_stripes_split', searchPath: [database.schema] },
      { name: 'coupons_make_stripes', searchPath: [database.schema] },
    ]);

    await migrateToLatest(database.db);
    const functions = await pinnedSearchPaths();
    expect(functions).toEqual(functions.map(({ name }) => ({ name, searchPath: [database.schema, 'pg_temp'] })));
  });
});
