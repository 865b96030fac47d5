import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/adapters/postgres/database.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { insertUsers } from '../../support/fixtures.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();

/** The connection a unit of work hands its repositories (the users repository keeps it as `db`). */
const connectionOf = (repos: object) => (repos as { users: { db: Db } }).users.db;

describe('the PostgreSQL unit of work', () => {
  it('refuses a transaction opened on its connection, which would commit its work half-way, and rolls all of it back', async () => {
    const [userId] = await insertUsers(database.db, 1);
    const uow = new PgUnitOfWork(database.db);

    await expect(
      uow.run(async (repos) => {
        const trx = connectionOf(repos);
        await sql`UPDATE balances SET amount = 111 WHERE user_id = ${userId}`.execute(trx);
        await trx.transaction().execute(async () => undefined);
      }),
    ).rejects.toThrow(/would end its transaction/);

    expect(await scalar(database.db, sql`SELECT amount AS value FROM balances WHERE user_id = ${userId}`)).toBe(0);
  });
});
