import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../../migrations/index.js';
import { createDb } from '../../../src/adapters/postgres/database.js';
import { migrateToLatest } from '../../../src/adapters/postgres/migrate.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

describe('migrating a running shop', () => {
  it('lets instances still on the code before migration 0009 record a failed login', async () => {
    // Their INSERT names no client address: during a rolling deploy it must still succeed.
    await sql`INSERT INTO login_attempts (email_key) VALUES ('older-instance@example.com')`.execute(database.db);

    await expect(
      scalar(
        database.db,
        sql`SELECT count(*)::int AS value FROM login_attempts
            WHERE email_key = 'older-instance@example.com' AND client_address = ''`,
      ),
    ).resolves.toBe(1);
  });

  it("runs a migration longer than the service's statement timeout, under its lock timeout", async () => {
    const limited = createDb({
      url: database.url,
      schema: database.schema,
      poolSize: 1,
      limits: { statementTimeoutMs: 200, lockTimeoutMs: 300 },
    });
    const seen: { lockTimeout?: string } = {};
    const slow = {
      async up(db: Kysely<unknown>) {
        await sql`SELECT pg_sleep(0.5)`.execute(db);
        const { rows } = await sql<{ value: string }>`SELECT current_setting('lock_timeout') AS value`.execute(db);
        seen.lockTimeout = rows[0]!.value;
      },
    };
    try {
      await expect(migrateToLatest(limited, { ...migrations, '9999-slow': slow })).resolves.toEqual(['9999-slow']);
      expect(seen.lockTimeout).toBe('300ms');
      await expect(limited.transaction().execute((trx) => sql`SELECT pg_sleep(0.5)`.execute(trx))).rejects.toThrow(
        /statement timeout/,
      );
    } finally {
      await limited.destroy();
    }
  });

  it('refuses a migration that opens a transaction of its own, and applies none of the pending ones', async () => {
    const schema = `${database.schema}_nested`;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
    const db = createDb({ url: database.url, schema, poolSize: 1 });
    const nested = {
      async up(migrating: Kysely<unknown>) {
        await sql`CREATE TABLE before_nested (id int)`.execute(migrating);
        // Its COMMIT would end the migrations' one transaction, and its lock, half-way.
        await migrating.transaction().execute((trx) => sql`CREATE TABLE inside_nested (id int)`.execute(trx));
      },
    };
    try {
      await expect(migrateToLatest(db, { ...migrations, '9999-nested': nested })).rejects.toThrow(/9999-nested/);
      const { rows } = await sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema}`.execute(db);
      expect(rows).toEqual([]);
    } finally {
      await db.destroy();
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    }
  });

  it('lets a second instance wait for the first one migrating, however long that takes', async () => {
    const schema = `${database.schema}_two`;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
    const instance = () =>
      createDb({ url: database.url, schema, poolSize: 1, limits: { statementTimeoutMs: 200, lockTimeoutMs: 300 } });
    const [first, second] = [instance(), instance()];
    const slow = { up: async (db: Kysely<unknown>) => void (await sql`SELECT pg_sleep(0.6)`.execute(db)) };
    try {
      const applied = await Promise.all([
        migrateToLatest(first, { ...migrations, '9999-slow': slow }),
        migrateToLatest(second, { ...migrations, '9999-slow': slow }),
      ]);

      expect(applied.map((names) => names.length).sort()).toEqual([0, Object.keys(migrations).length + 1]);
      // The connection that migrated is back in its pool, its transactions under the service's statement timeout.
      await expect(second.transaction().execute((trx) => sql`SELECT pg_sleep(0.5)`.execute(trx))).rejects.toThrow(
        /statement timeout/,
      );
    } finally {
      await Promise.all([first.destroy(), second.destroy()]);
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    }
  });
});
