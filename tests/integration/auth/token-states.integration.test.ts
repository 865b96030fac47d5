import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PgAccountRepository } from '../../../src/adapters/postgres/pg-account-repository.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { insertUsers } from '../../support/fixtures.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

describe('PgAccountRepository.tokenStatesOf', () => {
  it("reads several users' token states in one query, leaving out the users that do not exist", async () => {
    const [first, second] = await insertUsers(database.db, 2);
    await sql`UPDATE users SET token_version = 4, tokens_not_before = '2026-12-06T03:00:00Z' WHERE id = ${second}`.execute(
      database.db,
    );
    const accounts = new PgAccountRepository(database.db);

    const states = await accounts.tokenStatesOf([first!, second!, second! + 1000]);

    expect(states).toEqual(
      new Map([
        [first, { version: 0, notBefore: null }],
        [second, { version: 4, notBefore: new Date('2026-12-06T03:00:00Z') }],
      ]),
    );
    await expect(accounts.tokenStatesOf([])).resolves.toEqual(new Map());
  });

  it('reads on the pool, never on the transaction of the request that happens to ask', async () => {
    const [user] = await insertUsers(database.db, 1);
    const accounts = new PgAccountRepository(database.db);

    const seenInside = await new PgUnitOfWork(database.db).run(async (repos) => {
      await repos.accounts.bumpTokenVersion(user!);
      return accounts.tokenStatesOf([user!]);
    });

    expect(seenInside.get(user!)?.version).toBe(0);
    await expect(accounts.tokenStatesOf([user!])).resolves.toEqual(
      new Map([[user, expect.objectContaining({ version: 1 })]]),
    );
  });
});
