import { sql } from 'kysely';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { isDatabaseUnavailable } from '../../../src/adapters/postgres/pg-errors.js';

/** The service's sessions carry bounded timeouts; a statement past one fails fast and is answered 503. */
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

describe('session limits on PostgreSQL', () => {
  it('sets statement_timeout, lock_timeout and idle_in_transaction_session_timeout on every connection', async () => {
    const db = dbWith({ statementTimeoutMs: 1_500, lockTimeoutMs: 700, idleInTransactionTimeoutMs: 9_000 });
    await expect(setting(db, 'statement_timeout')).resolves.toBe('1500ms');
    await expect(setting(db, 'lock_timeout')).resolves.toBe('700ms');
    await expect(setting(db, 'idle_in_transaction_session_timeout')).resolves.toBe('9s');
  });

  it('cancels a statement past its timeout, and that counts as "the database is unavailable" (503)', async () => {
    const db = dbWith({ statementTimeoutMs: 200 });
    const error = await sql`SELECT pg_sleep(2)`.execute(db).catch((caught: unknown) => caught);
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
        const error = await sql`SELECT id FROM ${sql.id(table)} WHERE id = 1 FOR UPDATE`
          .execute(waiter)
          .catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: '55P03' });
        expect(isDatabaseUnavailable(error)).toBe(true);
      });
    } finally {
      await sql`DROP TABLE ${sql.id(table)}`.execute(holder);
    }
  });

  it('leaves the limits off when none are given (the command-line tools run long statements)', async () => {
    const db = dbWith(undefined);
    await expect(setting(db, 'statement_timeout')).resolves.toBe('0');
  });
});
