import { type Migration, Migrator, Kysely, PostgresAdapter, PostgresDialect, PostgresDriver } from 'kysely';
import type pg from 'pg';
import { migrations } from '../../../migrations/index.js';
import { type Db, inTransactionOf } from './database.js';

/** Held by the transaction that migrates, so instances starting together migrate one after the other. */
const MIGRATION_LOCK = 7_305_224_011;

/** Kysely's migrator without its own lock, a session lock a transaction-mode pooler would strand. */
class LockedByTransaction extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

/**
 * Refuses a transaction of a migration's own: on the connection the migrations' transaction holds, its
 * COMMIT would end that transaction (and its lock) half-way, and the rest would commit piecemeal.
 */
class InsideTheMigrations extends PostgresDriver {
  override beginTransaction(): Promise<void> {
    return Promise.reject(new Error("a migration runs inside the migrations' one transaction; it opens none"));
  }
}

/** Kysely on one connection already inside a transaction: the migrator's queries join it. */
function onConnection(client: pg.PoolClient): Kysely<unknown> {
  const pool = {
    connect: async () => ({ query: client.query.bind(client), release: () => undefined }),
    end: async () => undefined,
  };
  return new Kysely({
    dialect: new (class extends PostgresDialect {
      override createAdapter() {
        return new LockedByTransaction();
      }
      override createDriver() {
        return new InsideTheMigrations({ pool });
      }
    })({ pool }),
  });
}

/**
 * Applies the pending migrations (all of this service's unless told others); returns the names it applied.
 * Throws, naming the failed one, on error, having applied none of them.
 *
 * All of it is one transaction, as a transaction-mode pooler requires: its lock (waited on however long
 * another instance takes to migrate), the migrations, and Kysely's bookkeeping. Its statement timeout is
 * lifted, since an index built on a large table may take minutes and a deploy failed on the timeout would
 * fail so on every retry; its lock timeout stays, so a migration waiting behind a long transaction gives up
 * instead of queueing every request behind its lock.
 */
export async function migrateToLatest(db: Db, all: Record<string, Migration> = migrations): Promise<string[]> {
  return inTransactionOf(db, async (client) => {
    await client.query('SET LOCAL statement_timeout = 0');
    const { rows } = await client.query<{ lockTimeout: string; schema: string }>(
      `SELECT current_setting('lock_timeout') AS "lockTimeout", current_schema() AS schema`,
    );
    const { lockTimeout, schema } = rows[0]!;
    await client.query('SET LOCAL lock_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`SELECT set_config('lock_timeout', $1, true)`, [lockTimeout]);

    const migrator = new Migrator({
      db: onConnection(client),
      provider: { getMigrations: async () => all },
      // Kysely looks for its bookkeeping table in every schema unless told which one.
      migrationTableSchema: schema,
      disableTransactions: true,
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results.find((result) => result.status === 'Error');
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${reason}`, { cause: error });
    }
    return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
  });
}
