import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { newSigningKeyPem, parseSigningKey } from '../../../src/adapters/auth/signing-keys.js';
import { TOKEN_VERSION_MAX_AGE_MS } from '../../../src/application/auth/token-versions.js';
import { appDependencies, createContainer, ensureAdmin } from '../../../src/container.js';
import { TooManyLoginsError } from '../../../src/domain/account/account-errors.js';
import { LOGIN_FAILURE_LIMIT } from '../../../src/domain/account/refresh-token.js';
import { fromTestAddress } from '../../support/client-address.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 24 });
/** Every instance of this file signs with one key, as instances sharing a database must. */
const signingKey = parseSigningKey(newSigningKeyPem());
const PASSWORD = 'correct horse battery';

/** One service instance on the test database: its own caches, the shared tables. */
function instance() {
  const container = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, auth: { signingKey } });
  const deps = appDependencies(container);
  return { container, ...deps, logIn: fromTestAddress(deps.logIn) };
}

let emails = 0;
/** A fresh address per test, so tests share the schema without sharing accounts or login limits. */
const freshEmail = (tag: string) => `${tag}-${++emails}-${Date.now()}@example.com`;

type Settled<T> = PromiseSettledResult<T>;
const codes = <T>(results: Settled<T>[]) =>
  results.map((r) => (r.status === 'fulfilled' ? 'OK' : String((r.reason as { code?: unknown }).code ?? r.reason)));
const tally = (values: string[]) =>
  Object.fromEntries([...new Set(values)].sort().map((v) => [v, values.filter((x) => x === v).length]));

const count = (query: ReturnType<typeof sql<{ value: number }>>) => scalar(database.db, query);

describe('refresh rotation on PostgreSQL', () => {
  it('lets exactly one of two concurrent refreshes with one token win, 20 times over', async () => {
    const shop = instance();
    const email = freshEmail('race');
    await shop.signUp.execute({ email, password: PASSWORD, name: 'Racer' });
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round++) {
      const { refreshToken } = await shop.logIn.execute({ email, password: PASSWORD });
      const results = await Promise.allSettled([
        shop.refreshSession.execute({ refreshToken }),
        shop.refreshSession.execute({ refreshToken }),
      ]);
      // The loser presented a spent token: theft. The family is over, the token the winner got too.
      const after = await Promise.allSettled(
        results.flatMap((r) => (r.status === 'fulfilled' ? [shop.refreshSession.execute(r.value)] : [])),
      );
      outcomes.push(`${codes(results).sort().join('+')}, then ${codes(after).join('+')}`);
    }
    expect(tally(outcomes)).toEqual({ 'INVALID_REFRESH_TOKEN+OK, then INVALID_REFRESH_TOKEN': 20 });
  });

  it('stores a refresh token only as its 32-byte SHA-256, and a rotation spends it', async () => {
    const shop = instance();
    const email = freshEmail('hash');
    const account = await shop.signUp.execute({ email, password: PASSWORD, name: 'Hash' });
    const first = await shop.logIn.execute({ email, password: PASSWORD });
    const second = await shop.refreshSession.execute({ refreshToken: first.refreshToken });

    const { rows } = await sql<{ token_hash: Buffer; spent: boolean }>`
      SELECT t.token_hash, t.spent_at IS NOT NULL AS spent
      FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
      WHERE f.user_id = ${account.id} ORDER BY t.created_at, t.spent_at NULLS LAST`.execute(database.db);
    const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest();
    expect(rows.map((row) => row.token_hash.length)).toEqual([32, 32]);
    expect(rows.map((row) => ({ hash: row.token_hash.toString('hex'), spent: row.spent }))).toEqual(
      expect.arrayContaining([
        { hash: sha256(first.refreshToken).toString('hex'), spent: true },
        { hash: sha256(second.refreshToken).toString('hex'), spent: false },
      ]),
    );
    for (const token of [first.refreshToken, second.refreshToken]) {
      expect(rows.some((row) => row.token_hash.equals(Buffer.from(token, 'base64url')))).toBe(false);
      expect(rows.some((row) => row.token_hash.toString('latin1').includes(token))).toBe(false);
    }
  });
});

describe('the login limit on PostgreSQL', () => {
  it('of 20 concurrent wrong passwords for one email on two instances, refuses exactly 10 as too many', async () => {
    const [a, b] = [instance(), instance()];
    const email = freshEmail('storm');
    await a.signUp.execute({ email, password: PASSWORD, name: 'Storm' });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).logIn.execute({ email: i % 3 ? email : email.toUpperCase(), password: `wrong ${i}` }),
      ),
    );
    expect(tally(codes(results))).toEqual({ INVALID_CREDENTIALS: 10, TOO_MANY_REQUESTS: 10 });
    const waits = results.flatMap((r) =>
      r.status === 'rejected' && r.reason instanceof TooManyLoginsError ? [r.reason.retryAfterSeconds] : [],
    );
    expect(waits).toHaveLength(10);
    // All ten failures fell within this second or so: the window is about to last its full 15 minutes.
    for (const wait of waits) {
      expect(wait).toBeGreaterThan(890);
      expect(wait).toBeLessThanOrEqual(900);
    }
    await expect(
      count(sql`SELECT count(*) AS value FROM login_attempts WHERE email_key = ${email.toLowerCase()}`),
    ).resolves.toBe(LOGIN_FAILURE_LIMIT);
    // The right password on a third instance: still too many.
    await expect(instance().logIn.execute({ email, password: PASSWORD })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });
  });

  it('counts every spelling the account lookup treats as one email as one email (İ folds to i in PostgreSQL)', async () => {
    const shop = instance();
    const email = freshEmail('iris');
    await shop.signUp.execute({ email, password: PASSWORD, name: 'Iris' });
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++)
      await expect(shop.logIn.execute({ email, password: `wrong ${i}` })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
    // JavaScript lowers U+0130 to "i̇" (two code points), PostgreSQL's lower() to "i": the lookup finds the
    // account, so the limit must count this spelling with the others.
    const dotted = email.replace('i', '\u0130');
    await expect(shop.logIn.execute({ email: dotted, password: 'wrong again' })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });
    await expect(shop.logIn.execute({ email: ` ${dotted} `, password: PASSWORD })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });
  });

  it('ends the access tokens of a login whose refresh token was reused, on every instance', async () => {
    const [victim, thief] = [instance(), instance()];
    const email = freshEmail('theft');
    await victim.signUp.execute({ email, password: PASSWORD, name: 'Theft' });
    const login = await victim.logIn.execute({ email, password: PASSWORD });
    const stolen = await thief.refreshSession.execute({ refreshToken: login.refreshToken });
    await expect(thief.authenticate.execute(stolen.accessToken)).resolves.toMatchObject({ role: 'CUSTOMER' });
    // The victim presents the spent token: reuse, so the login ends, access tokens included.
    await expect(victim.refreshSession.execute({ refreshToken: login.refreshToken })).rejects.toMatchObject({
      code: 'INVALID_REFRESH_TOKEN',
    });
    await sleep(TOKEN_VERSION_MAX_AGE_MS + 50);
    for (const shop of [victim, thief])
      await expect(shop.authenticate.execute(stolen.accessToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // The account itself is fine: a new login works.
    const fresh = await victim.logIn.execute({ email, password: PASSWORD });
    await expect(thief.authenticate.execute(fresh.accessToken)).resolves.toMatchObject({ role: 'CUSTOMER' });
  });

  it('lets a logout-all and a reuse detection of the same user run at once without a deadlock', async () => {
    const [victim, thief] = [instance(), instance()];
    const email = freshEmail('crossing');
    const account = await victim.signUp.execute({ email, password: PASSWORD, name: 'Crossing' });
    const first = await victim.logIn.execute({ email, password: PASSWORD });
    const other = await victim.logIn.execute({ email, password: PASSWORD });
    await thief.refreshSession.execute({ refreshToken: first.refreshToken });
    // Widen the window: ending a family takes 0.6 s, so the two transactions overlap for sure.
    await sql`
      CREATE FUNCTION slow_family_end() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(0.6); RETURN NEW; END $$`.execute(database.db);
    await sql`
      CREATE TRIGGER slow_family_end BEFORE UPDATE OF ended_at ON refresh_token_families
      FOR EACH ROW WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL) EXECUTE FUNCTION slow_family_end()`.execute(
      database.db,
    );
    try {
      const reuse = victim.refreshSession.execute({ refreshToken: first.refreshToken });
      await sleep(200);
      const everywhere = thief.logOutEverywhere.execute({ actor: { role: 'CUSTOMER', userId: account.id } });
      const [reused, loggedOut] = await Promise.allSettled([reuse, everywhere]);
      expect([...codes([reused]), ...codes([loggedOut])]).toEqual(['INVALID_REFRESH_TOKEN', 'OK']);
    } finally {
      await sql`DROP TRIGGER slow_family_end ON refresh_token_families`.execute(database.db);
      await sql`DROP FUNCTION slow_family_end()`.execute(database.db);
    }
    // Logout-all took effect: the user's other login is over too.
    await expect(victim.refreshSession.execute({ refreshToken: other.refreshToken })).rejects.toMatchObject({
      code: 'INVALID_REFRESH_TOKEN',
    });
  });

  it('removes the attempt of a successful login and keeps the failures', async () => {
    const shop = instance();
    const email = freshEmail('attempts');
    await shop.signUp.execute({ email, password: PASSWORD, name: 'Attempts' });
    const attempts = () =>
      count(sql`SELECT count(*) AS value FROM login_attempts WHERE email_key = ${email.toLowerCase()}`);

    await shop.logIn.execute({ email, password: PASSWORD });
    await expect(attempts()).resolves.toBe(0);
    for (let i = 0; i < 2; i++)
      await expect(shop.logIn.execute({ email, password: 'wrong password' })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      });
    await expect(attempts()).resolves.toBe(2);
    await shop.logIn.execute({ email: email.toUpperCase(), password: PASSWORD });
    await expect(attempts()).resolves.toBe(2);
  });
});

describe('accounts on PostgreSQL', () => {
  it('of two concurrent sign-ups with one email in two letter cases, keeps one account', async () => {
    const [a, b] = [instance(), instance()];
    const email = freshEmail('twin');
    const users = () => count(sql`SELECT count(*) AS value FROM users`);
    const before = await users();
    const results = await Promise.allSettled([
      a.signUp.execute({ email, password: PASSWORD, name: 'Twin one' }),
      b.signUp.execute({ email: email.toUpperCase(), password: PASSWORD, name: 'Twin two' }),
    ]);
    expect(tally(codes(results))).toEqual({ EMAIL_TAKEN: 1, OK: 1 });
    // The loser's user and balance were rolled back with it.
    await expect(users()).resolves.toBe(before + 1);
    await expect(
      count(sql`SELECT count(*) AS value FROM password_credentials WHERE lower(email) = ${email.toLowerCase()}`),
    ).resolves.toBe(1);
    await expect(
      count(sql`SELECT count(*) AS value FROM users u JOIN balances b ON b.user_id = u.id WHERE u.name LIKE 'Twin %'`),
    ).resolves.toBe(1);
  });

  it('has the unique index on lower(email), so a raw insert in another case is refused by the database', async () => {
    const { rows } = await sql<{ indexdef: string }>`
      SELECT indexdef FROM pg_indexes
      WHERE schemaname = ${database.schema} AND tablename = 'password_credentials' AND indexdef LIKE '%lower(email)%'`.execute(
      database.db,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.indexdef).toMatch(/^CREATE UNIQUE INDEX .* USING btree \(lower\(email\)\)$/);

    const shop = instance();
    const email = freshEmail('raw');
    await shop.signUp.execute({ email, password: PASSWORD, name: 'Raw' });
    const { rows: users } = await sql<{ id: number }>`
      INSERT INTO users (name, created_at) VALUES ('Raw twin', now()) RETURNING id`.execute(database.db);
    await expect(
      sql`INSERT INTO password_credentials (user_id, email, password_hash)
          VALUES (${users[0]!.id}, ${email.toUpperCase()}, 'x')`.execute(database.db),
    ).rejects.toMatchObject({ code: '23505', constraint: 'password_credentials_email' });
  });

  it('stores the password only as an Argon2id hash at OWASP’s parameters', async () => {
    const shop = instance();
    const email = freshEmail('argon');
    const account = await shop.signUp.execute({ email, password: PASSWORD, name: 'Argon' });
    const { rows } = await sql<{ password_hash: string; email: string }>`
      SELECT password_hash, email FROM password_credentials WHERE user_id = ${account.id}`.execute(database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.email).toBe(email);
    expect(rows[0]!.password_hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    expect(rows[0]!.password_hash).not.toContain(PASSWORD);
    const { rows: user } = await sql<{ role: string; email: string; token_version: number }>`
      SELECT role, email, token_version FROM users WHERE id = ${account.id}`.execute(database.db);
    expect(user).toEqual([{ role: 'CUSTOMER', email, token_version: 0 }]);
  });
});

describe('logout everywhere on PostgreSQL', () => {
  it('bumps users.token_version, ends every family, and every instance refuses the old tokens within the max age', async () => {
    const [a, b] = [instance(), instance()];
    const email = freshEmail('everywhere');
    const account = await a.signUp.execute({ email, password: PASSWORD, name: 'Everywhere' });
    const one = await a.logIn.execute({ email, password: PASSWORD });
    const two = await b.logIn.execute({ email, password: PASSWORD });
    const actor = { role: 'CUSTOMER', userId: account.id } as const;
    await expect(b.authenticate.execute(one.accessToken)).resolves.toEqual(actor);
    const version = () => count(sql`SELECT token_version AS value FROM users WHERE id = ${account.id}`);
    const openFamilies = () =>
      count(
        sql`SELECT count(*) AS value FROM refresh_token_families WHERE user_id = ${account.id} AND ended_at IS NULL`,
      );
    await expect(version()).resolves.toBe(0);
    await expect(openFamilies()).resolves.toBe(2);

    await a.logOutEverywhere.execute({ actor });

    await expect(version()).resolves.toBe(1);
    await expect(openFamilies()).resolves.toBe(0);
    await expect(a.authenticate.execute(one.accessToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await sleep(TOKEN_VERSION_MAX_AGE_MS + 50);
    for (const token of [one.accessToken, two.accessToken])
      await expect(b.authenticate.execute(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    for (const { refreshToken } of [one, two])
      await expect(b.refreshSession.execute({ refreshToken })).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });

    const fresh = await b.logIn.execute({ email, password: PASSWORD });
    await expect(a.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    await expect(b.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    await a.logOutEverywhere.execute({ actor });
    await expect(version()).resolves.toBe(2);
  });

  it('logout ends that family in the database, and only it', async () => {
    const shop = instance();
    const email = freshEmail('logout');
    const account = await shop.signUp.execute({ email, password: PASSWORD, name: 'Logout' });
    const one = await shop.logIn.execute({ email, password: PASSWORD });
    const two = await shop.logIn.execute({ email, password: PASSWORD });
    await shop.logOut.execute({ refreshToken: one.refreshToken });
    await expect(
      count(
        sql`SELECT count(*) AS value FROM refresh_token_families WHERE user_id = ${account.id} AND ended_at IS NULL`,
      ),
    ).resolves.toBe(1);
    await expect(shop.refreshSession.execute({ refreshToken: one.refreshToken })).rejects.toMatchObject({
      code: 'INVALID_REFRESH_TOKEN',
    });
    await expect(shop.refreshSession.execute({ refreshToken: two.refreshToken })).resolves.toMatchObject({
      account: { id: account.id },
    });
    await expect(shop.logOut.execute({ refreshToken: 'never issued' })).resolves.toBeUndefined();
  });
});

describe('EnsureAdmin on PostgreSQL', () => {
  it('creates the admin once, however often and from however many instances it runs', async () => {
    const email = freshEmail('admin');
    const results = await Promise.all([
      ensureAdmin(instance().container, email, 'admin password'),
      ensureAdmin(instance().container, email, 'admin password'),
    ]);
    const created = results.filter((r) => r !== undefined);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ role: 'ADMIN', email, name: 'Administrator' });
    await expect(ensureAdmin(instance().container, email.toUpperCase(), 'admin password')).resolves.toBeUndefined();
    await expect(
      count(sql`SELECT count(*) AS value FROM password_credentials WHERE lower(email) = ${email.toLowerCase()}`),
    ).resolves.toBe(1);

    const shop = instance();
    const session = await shop.logIn.execute({ email, password: 'admin password' });
    await expect(shop.authenticate.execute(session.accessToken)).resolves.toEqual({
      role: 'ADMIN',
      userId: created[0]!.id,
    });
  });

  it('never changes an existing account with that email: not its role, name nor password hash', async () => {
    const shop = instance();
    const email = freshEmail('existing');
    const account = await shop.signUp.execute({ email, password: PASSWORD, name: 'Existing' });
    const row = () =>
      sql<{ role: string; name: string; token_version: number; password_hash: string }>`
        SELECT u.role, u.name, u.token_version, c.password_hash
        FROM users u JOIN password_credentials c ON c.user_id = u.id WHERE u.id = ${account.id}`
        .execute(database.db)
        .then((result) => result.rows);
    const before = await row();

    await expect(ensureAdmin(shop.container, email, 'admin password')).resolves.toBeUndefined();
    await expect(ensureAdmin(shop.container, email.toUpperCase(), 'admin password')).resolves.toBeUndefined();

    expect(await row()).toEqual(before);
    expect(before).toEqual([
      { role: 'CUSTOMER', name: 'Existing', token_version: 0, password_hash: expect.any(String) },
    ]);
    await expect(shop.logIn.execute({ email, password: 'admin password' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    await expect(shop.logIn.execute({ email, password: PASSWORD })).resolves.toMatchObject({
      account: { id: account.id, role: 'CUSTOMER' },
    });
  });
});
