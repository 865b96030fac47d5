import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDependencies, createContainer } from '../../../src/container.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';
import { IDP_ISSUER, type TestIdentityProvider, startIdentityProvider } from '../../unit/auth/identity-provider.js';

const database = useTestDatabase({ poolSize: 12 });
let idp: TestIdentityProvider;

beforeAll(async () => {
  idp = await startIdentityProvider();
});
afterAll(() => idp.close());

/** One service instance trusting the test provider: its own link cache, the shared tables. */
function instance() {
  const container = createContainer({
    repositories: { kind: 'POSTGRES', db: database.db },
    auth: { external: idp.external },
  });
  return appDependencies(container);
}

const count = (query: ReturnType<typeof sql<{ value: number }>>) => scalar(database.db, query);

describe('external identities on PostgreSQL', () => {
  it('links a first sight seen by many requests on two instances at once to one account, and keeps no other', async () => {
    const [a, b] = [instance(), instance()];
    const usersBefore = await count(sql`SELECT count(*) AS value FROM users`);
    const token = await idp.token(new Date(), 'kc-crowd', { name: 'Crowd', email: 'crowd@idp.example' });

    const actors = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).authenticate.execute(token)));

    const ids = new Set(actors.map((actor) => (actor.role === 'SYSTEM' ? undefined : actor.userId)));
    expect(ids.size).toBe(1);
    const [userId] = ids;
    expect(actors[0]).toEqual({ role: 'CUSTOMER', userId });
    const { rows } = await sql<{ user_id: number }>`
      SELECT user_id FROM external_identities WHERE issuer = ${IDP_ISSUER} AND subject = 'kc-crowd'`.execute(
      database.db,
    );
    expect(rows.map((row) => Number(row.user_id))).toEqual([userId]);
    // The requests that lost the race rolled their user and balance back.
    await expect(count(sql`SELECT count(*) AS value FROM users`)).resolves.toBe(usersBefore + 1);
    await expect(count(sql`SELECT count(*) AS value FROM balances WHERE user_id = ${userId!}`)).resolves.toBe(1);
    const { rows: users } = await sql<{ name: string; email: string; role: string }>`
      SELECT name, email, role FROM users WHERE id = ${userId!}`.execute(database.db);
    expect(users).toEqual([{ name: 'Crowd', email: 'crowd@idp.example', role: 'CUSTOMER' }]);
  });

  it('finds the linked account from a new instance by (iss, sub), whatever the email says now, and never by email', async () => {
    const first = await instance().authenticate.execute(
      await idp.token(new Date(), 'kc-return', { email: 'return@idp.example' }),
    );
    const password = await instance().signUp.execute({
      email: 'changed@idp.example',
      password: 'a password of hers',
      name: 'Password account',
    });

    const later = instance();
    const changed = await idp.token(new Date(), 'kc-return', { email: 'changed@idp.example', roles: ['shop-admin'] });
    const actor = await later.authenticate.execute(changed);
    expect(actor).toEqual({ role: 'ADMIN', userId: first.role === 'SYSTEM' ? -1 : first.userId });
    expect(actor).not.toMatchObject({ userId: password.id });

    // An identity whose email is a password account's still gets an account of its own.
    const stranger = await later.authenticate.execute(
      await idp.token(new Date(), 'kc-stranger', { email: 'CHANGED@idp.example' }),
    );
    expect(stranger).toEqual({ role: 'CUSTOMER', userId: expect.any(Number) });
    expect(stranger).not.toMatchObject({ userId: password.id });
    await expect(
      count(sql`SELECT count(*) AS value FROM external_identities WHERE user_id = ${password.id}`),
    ).resolves.toBe(0);
    await expect(
      count(sql`SELECT count(*) AS value FROM password_credentials WHERE lower(email) = 'changed@idp.example'`),
    ).resolves.toBe(1);
  });
});
