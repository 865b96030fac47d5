import { type Migration, Migrator, sql } from 'kysely';
import { migrations } from '../../../migrations/index.js';
import type { Db } from './database.js';

/**
 * Applies the pending migrations (all of this service's unless told others); returns the names it applied.
 * Throws, naming the failed one, on error.
 */
export async function migrateToLatest(db: Db, all: Record<string, Migration> = migrations): Promise<string[]> {
  // One connection, its statement timeout lifted while it migrates: Kysely takes its migration lock in a
  // statement of its own before the migrations' transaction, and an instance starting while another one
  // migrates must wait there for as long as that takes, not fail on the pool's timeout; and an index built
  // on a large table may take minutes, where a deploy failed on the timeout would fail so on every retry.
  // The lock timeout stays, so a migration waiting behind a long transaction gives up instead of queueing
  // every request behind its lock.
  const { error, results = [] } = await db.connection().execute(async (connection) => {
    await sql`SET statement_timeout = 0`.execute(connection);
    try {
      // Kysely looks for its bookkeeping table in every schema unless told which one, so name the one the
      // connection works in (public, or a test's own schema).
      const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(connection);
      const migrator = new Migrator({
        db: connection,
        provider: { getMigrations: async () => all },
        migrationTableSchema: rows[0]?.schema ?? 'public',
      });
      return await migrator.migrateToLatest();
    } finally {
      await sql`RESET statement_timeout`.execute(connection);
    }
  });
  const failed = results.find((result) => result.status === 'Error');
  if (error !== undefined) {
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, { cause: error });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
