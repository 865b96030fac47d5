import { sql } from 'kysely';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { isDatabaseUnavailable } from '../../../src/adapters/postgres/pg-errors.js';
import { currentTransaction } from '../../../src/adapters/postgres/pg-transaction-context.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { applyRoleDefaults } from '../../../src/adapters/postgres/session-bounds.js';
import { DEFAULT_SESSION_LIMITS } from '../../../src/config.js';

/**
 * The service's transactions carry bounded timeouts, set with SET LOCAL as each begins (so they hold behind
 * a transaction-mode pooler); a statement past one fails fast and is answered 503.
 */
const url = inject('databaseUrl');
const opened: Db[] = [];
const dbWith = (limits: Parameters<typeof createDb>[0]['limits']) => {
  const db = createDb({ url, poolSize: 2, limits });
  opened.push(db);
  return db;
};
afterAll(async () => {
  await Promise.all(opened.map((db) => db.destroy()));
});

const setting = async (db: Db, name: string) =>
  (await sql<{ value: string }>`SELECT current_setting(${name}) AS value`.execute(db)).rows[0]!.value;
const inTransaction = <T>(db: Db, work: (trx: Db) => Promise<T>) => db.transaction().execute(work);

describe('session limits on PostgreSQL', () => {
  it('sets statement_timeout, lock_timeout and idle_in_transaction_session_timeout in every transaction', async () => {
    const db = dbWith({ statementTimeoutMs: 1_500, lockTimeoutMs: 700, idleInTransactionTimeoutMs: 9_000 });
    for (let round = 0; round < 3; round++) {
      await inTransaction(db, async (trx) => {
        await expect(setting(trx, 'statement_timeout')).resolves.toBe('1500ms');
        await expect(setting(trx, 'lock_timeout')).resolves.toBe('700ms');
        await expect(setting(trx, 'idle_in_transaction_session_timeout')).resolves.toBe('9s');
      });
    }
    await inTransaction(db, async (trx) => {
      await sql`SET TRANSACTION READ ONLY`.execute(trx);
      await expect(setting(trx, 'statement_timeout')).resolves.toBe('1500ms');
    });
  });

  it("sets them in a unit of work's transaction too, and in its nested units of work", async () => {
    const db = dbWith({ statementTimeoutMs: 1_500, lockTimeoutMs: 700, idleInTransactionTimeoutMs: 9_000 });
    const uow = new PgUnitOfWork(db);
    const seen = await uow.run(async () => {
      const trx = currentTransaction()!.trx;
      const outer = [await setting(trx, 'statement_timeout'), await setting(trx, 'lock_timeout')];
      const inner = await uow.run(async () =>
        setting(currentTransaction()!.trx, 'idle_in_transaction_session_timeout'),
      );
      return [...outer, inner];
    });
    expect(seen).toEqual(['1500ms', '700ms', '9s']);
    const error = await uow
      .run(() => sql`SELECT pg_sleep(2)`.execute(currentTransaction()!.trx))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: '57014' });
  });

  it('sets them with the BEGIN, in its round trip, as no session state', async () => {
    const sent: string[] = [];
    const db = createDb({
      url,
      poolSize: 1,
      limits: { statementTimeoutMs: 1_500 },
      log: (event) => void sent.push(event.query.sql),
    });
    opened.push(db);
    await inTransaction(db, (trx) => setting(trx, 'statement_timeout'));
    expect(sent).toEqual([
      'start transaction; SET LOCAL statement_timeout = 1500',
      'SELECT current_setting($1) AS value',
      'commit',
    ]);
    await expect(setting(db, 'statement_timeout')).resolves.not.toBe('1500ms');
  });

  it('cancels a statement past its timeout, and that counts as "the database is unavailable" (503)', async () => {
    const db = dbWith({ statementTimeoutMs: 200 });
    const error = await inTransaction(db, (trx) => sql`SELECT pg_sleep(2)`.execute(trx)).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: '57014' });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('gives up waiting for a row lock past lock_timeout, also answered 503', async () => {
    const holder = dbWith({});
    const waiter = dbWith({ lockTimeoutMs: 200 });
    const table = `lock_probe_${process.pid}`;
    await sql`CREATE TABLE IF NOT EXISTS ${sql.id(table)} (id int PRIMARY KEY)`.execute(holder);
    await sql`INSERT INTO ${sql.id(table)} VALUES (1) ON CONFLICT DO NOTHING`.execute(holder);
    try {
      await holder.transaction().execute(async (trx) => {
        await sql`SELECT id FROM ${sql.id(table)} WHERE id = 1 FOR UPDATE`.execute(trx);
        const error = await inTransaction(waiter, (other) =>
          sql`SELECT id FROM ${sql.id(table)} WHERE id = 1 FOR UPDATE`.execute(other),
        ).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: '55P03' });
        expect(isDatabaseUnavailable(error)).toBe(true);
      });
    } finally {
      await sql`DROP TABLE ${sql.id(table)}`.execute(holder);
    }
  });

  it('leaves a transaction at the session defaults when no limits are given (the command-line tools)', async () => {
    const db = dbWith(undefined);
    const outside = await setting(db, 'statement_timeout');
    await expect(inTransaction(db, (trx) => setting(trx, 'statement_timeout'))).resolves.toBe(outside);
  });

  it("makes the service's bounds its role's defaults in this database, once, for statements outside a transaction", async () => {
    const db = dbWith(undefined);
    // The service's own defaults: what every service started on this database writes anyway.
    await applyRoleDefaults(db, DEFAULT_SESSION_LIMITS);
    await expect(applyRoleDefaults(db, DEFAULT_SESSION_LIMITS)).resolves.toBe(false);

    const fresh = dbWith(undefined);
    await expect(setting(fresh, 'statement_timeout')).resolves.toBe(
      `${DEFAULT_SESSION_LIMITS.statementTimeoutMs / 1000}s`,
    );
    await expect(setting(fresh, 'lock_timeout')).resolves.toBe(`${DEFAULT_SESSION_LIMITS.lockTimeoutMs / 1000}s`);
    await expect(setting(fresh, 'idle_in_transaction_session_timeout')).resolves.toBe(
      `${DEFAULT_SESSION_LIMITS.idleInTransactionTimeoutMs / 60_000}min`,
    );
  });
});
