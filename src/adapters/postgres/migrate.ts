import { type Migration, Migrator, sql } from 'kysely';
import { migrations } from '../../../migrations/index.js';
import type { Db } from './database.js';

/**
 * Applies the pending migrations (all of this service's unless told others); returns the names it applied.
 * Throws, naming the failed one, on error.
 */
export async function migrateToLatest(db: Db, all: Record<string, Migration> = migrations): Promise<string[]> {
  // Kysely looks for its bookkeeping table in every schema unless told which one, so name the one the
  // connection works in (public, or a test's own schema).
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => withoutStatementTimeout(all) },
    migrationTableSchema: rows[0]?.schema ?? 'public',
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((result) => result.status === 'Error');
  if (error !== undefined) {
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, { cause: error });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/**
 * Each migration with the pool's statement timeout lifted for its transaction: an index built on a large
 * table may take minutes, and a deploy that failed on the timeout would fail the same way on every retry.
 * The lock timeout stays, so a migration waiting behind a long transaction gives up instead of queueing
 * every request behind its lock.
 */
function withoutStatementTimeout(all: Record<string, Migration>): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(all).map(([name, migration]) => [
      name,
      {
        async up(db) {
          await sql`SET LOCAL statement_timeout = 0`.execute(db);
          await migration.up(db);
        },
        ...(migration.down ? { down: (db) => migration.down!(db) } : {}),
      } satisfies Migration,
    ]),
  );
}
