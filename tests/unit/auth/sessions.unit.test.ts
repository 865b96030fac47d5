import { describe, expect, it, vi } from 'vitest';
import { parseSigningKey, newSigningKeyPem } from '../../../src/adapters/auth/signing-keys.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { TOKEN_VERSION_MAX_AGE_MS } from '../../../src/application/auth/token-versions.js';
import { type Actor, SYSTEM } from '../../../src/application/shared/actor.js';
import { type AuthOptions, appDependencies, createContainer, ensureAdmin } from '../../../src/container.js';
import { startKeyPurge } from '../../../src/key-purge.js';
import {
  EmailTakenError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  TooManyLoginsError,
  UnauthenticatedError,
} from '../../../src/domain/account/account-errors.js';
import { LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_MS } from '../../../src/domain/account/refresh-token.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';
import { fromTestAddress } from '../../support/client-address.js';

const START = '2026-11-24T03:00:00.000Z';
const PASSWORD = 'correct horse battery';

/**
 * The service's use cases in memory. Instances made with the same store, clock and key are like two
 * processes on one database: they share the data, not their caches.
 */
function instance({
  store = new InMemoryStore(),
  clock = new ManualClock(START),
  auth = {},
}: { store?: InMemoryStore; clock?: ManualClock; auth?: AuthOptions } = {}) {
  const container = createContainer({ repositories: { kind: 'IN_MEMORY', store }, clock, auth });
  const deps = appDependencies(container);
  return { store, clock, container, ...deps, logIn: fromTestAddress(deps.logIn) };
}

type Shop = ReturnType<typeof instance>;

async function customer(shop: Shop, email = 'Ana@Example.com') {
  return shop.signUp.execute({ email, password: PASSWORD, name: 'Ana' });
}

describe('sign-up and login', () => {
  it('signs up a customer with a zero balance, whose login gives tokens that authenticate as that customer', async () => {
    const shop = instance();
    const account = await customer(shop);
    expect(account).toEqual({
      id: expect.any(Number),
      name: 'Ana',
      email: 'Ana@Example.com',
      role: 'CUSTOMER',
      createdAt: new Date(START),
    });
    const balance = await shop.getBalance.execute({ actor: SYSTEM, userId: account.id });
    expect(balance.amount).toBe(0);

    const session = await shop.logIn.execute({ email: 'ana@example.COM', password: PASSWORD });
    expect(session).toEqual({
      accessToken: expect.any(String),
      expiresIn: 900,
      refreshToken: expect.any(String),
      account,
    });
    // 256 random bits, base64url.
    expect(Buffer.from(session.refreshToken, 'base64url')).toHaveLength(32);
    const actor = await shop.authenticate.execute(session.accessToken);
    expect(actor).toEqual({ role: 'CUSTOMER', userId: account.id });
    await expect(shop.getAccount.execute({ actor })).resolves.toEqual(account);
  });

  it('refuses a second sign-up with the email in another letter case, and keeps nothing of it', async () => {
    const shop = instance();
    await customer(shop, 'Ana@Example.com');
    const usersBefore = shop.store.state.users.size;
    for (const email of ['ana@example.com', '  ANA@EXAMPLE.COM ']) {
      const refused = shop.signUp.execute({ email, password: 'another password', name: 'Other Ana' });
      await expect(refused).rejects.toBeInstanceOf(EmailTakenError);
      await expect(refused).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
    }
    expect(shop.store.state.users.size).toBe(usersBefore);
    expect(shop.store.state.credentials.size).toBe(1);
    expect(shop.store.state.balances.size).toBe(usersBefore);
  });

  it('answers an unknown email exactly as a wrong password', async () => {
    const shop = instance();
    await customer(shop);
    const unknown = await shop.logIn
      .execute({ email: 'nobody@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    const wrong = await shop.logIn
      .execute({ email: 'ana@example.com', password: 'wrong password' })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidCredentialsError);
    expect(wrong).toBeInstanceOf(InvalidCredentialsError);
    const answer = (error: unknown) => {
      const { code, message, facts } = error as InvalidCredentialsError;
      return { code, message, facts };
    };
    expect(answer(unknown)).toEqual(answer(wrong));
    expect(answer(wrong).code).toBe('INVALID_CREDENTIALS');
  });

  it.each([
    ['7 characters', 'x'.repeat(7)],
    ['129 characters', 'x'.repeat(129)],
    ['7 characters that are 14 UTF-16 units', '🙂'.repeat(7)],
    ['empty', ''],
  ])('refuses a password of %s as INVALID_REQUEST on the field password', async (_case, password) => {
    const shop = instance();
    const refused = shop.signUp.execute({ email: 'ana@example.com', password, name: 'Ana' });
    await expect(refused).rejects.toBeInstanceOf(InvalidInputError);
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_REQUEST', field: 'password' });
    expect(shop.store.state.users.size).toBe(0);
    expect(shop.store.state.credentials.size).toBe(0);
  });

  it('accepts passwords of exactly 8 and exactly 128 characters, and they log in', async () => {
    const shop = instance();
    for (const [email, password] of [
      ['eight@example.com', '12345678'],
      ['long@example.com', 'y'.repeat(128)],
    ] as const) {
      await shop.signUp.execute({ email, password, name: 'Edge' });
      await expect(shop.logIn.execute({ email, password })).resolves.toMatchObject({ account: { email } });
    }
  });

  it('stores no password in clear, only an Argon2id hash', async () => {
    const shop = instance();
    const account = await customer(shop);
    const stored = shop.store.state.credentials.get(account.id)!;
    expect(stored.passwordHash).not.toContain(PASSWORD);
    expect(stored.passwordHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
  });

  it('gives the configured admin an ADMIN token', async () => {
    const shop = instance();
    const admin = await ensureAdmin(shop.container, 'admin@example.com', 'admin password');
    expect(admin).toMatchObject({ role: 'ADMIN', email: 'admin@example.com' });
    const session = await shop.logIn.execute({ email: 'admin@example.com', password: 'admin password' });
    await expect(shop.authenticate.execute(session.accessToken)).resolves.toEqual({
      role: 'ADMIN',
      userId: admin!.id,
    });
  });

  it('refuses tokens that are not access tokens, with UNAUTHENTICATED', async () => {
    const shop = instance();
    await customer(shop);
    const { refreshToken } = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    for (const token of ['', 'abc', 'a.b.c', refreshToken]) {
      const refused = shop.authenticate.execute(token);
      await expect(refused).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(refused).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it('refuses a well-signed token of a user the store does not know', async () => {
    const signingKey = parseSigningKey(newSigningKeyPem());
    const clock = new ManualClock(START);
    const first = instance({ clock, auth: { signingKey } });
    await customer(first);
    const { accessToken } = await first.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const elsewhere = instance({ clock, auth: { signingKey } });
    await expect(elsewhere.authenticate.execute(accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe('refresh rotation and reuse', () => {
  async function loggedIn(shop: Shop) {
    await customer(shop);
    return shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
  }

  it('rotates: a new refresh token, a working access token, the same account', async () => {
    const shop = instance();
    const first = await loggedIn(shop);
    shop.clock.advance(1_000);
    const second = await shop.refreshSession.execute({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.account).toEqual(first.account);
    await expect(shop.authenticate.execute(second.accessToken)).resolves.toEqual({
      role: 'CUSTOMER',
      userId: first.account.id,
    });
    const third = await shop.refreshSession.execute({ refreshToken: second.refreshToken });
    expect(new Set([first.refreshToken, second.refreshToken, third.refreshToken]).size).toBe(3);
  });

  it('treats a spent token presented again as theft: refused, and the token issued in its place ends too', async () => {
    const shop = instance();
    const first = await loggedIn(shop);
    const other = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const second = await shop.refreshSession.execute({ refreshToken: first.refreshToken });

    await expect(shop.refreshSession.execute({ refreshToken: first.refreshToken })).rejects.toMatchObject({
      code: 'INVALID_REFRESH_TOKEN',
    });
    await expect(shop.refreshSession.execute({ refreshToken: second.refreshToken })).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    // Presenting it again changes nothing, and the family stays ended.
    await expect(shop.refreshSession.execute({ refreshToken: first.refreshToken })).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    // Another login of the same user is another family: untouched.
    await expect(shop.refreshSession.execute({ refreshToken: other.refreshToken })).resolves.toMatchObject({
      account: { id: first.account.id },
    });
  });

  it('refuses unknown refresh tokens', async () => {
    const shop = instance();
    await loggedIn(shop);
    for (const refreshToken of ['', 'x', Buffer.alloc(32).toString('base64url')])
      await expect(shop.refreshSession.execute({ refreshToken })).rejects.toBeInstanceOf(InvalidRefreshTokenError);
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const shop = instance();
    const session = await loggedIn(shop);
    const stored = [...shop.store.state.refreshTokens.keys()];
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toBe(session.refreshToken);
    expect(Buffer.from(stored[0]!, 'base64url')).toHaveLength(32);
  });

  it('refuses a refresh token past the login’s absolute lifetime, however often it was rotated', async () => {
    const shop = instance({ auth: { refreshTokenTtlS: 3_600, accessTokenTtlS: 60 } });
    let session = await loggedIn(shop);
    expect(session.expiresIn).toBe(60);
    const at = (ms: number) => shop.clock.set(new Date(new Date(START).getTime() + ms));
    for (const minute of [20, 40]) {
      at(minute * 60_000);
      session = await shop.refreshSession.execute({ refreshToken: session.refreshToken });
    }
    // 59:59.999 after the login: still inside. At 60:00 the family has lived its hour.
    at(3_600_000 - 1);
    session = await shop.refreshSession.execute({ refreshToken: session.refreshToken });
    at(3_600_000);
    await expect(shop.refreshSession.execute({ refreshToken: session.refreshToken })).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
  });
});

describe('the purge of spent refresh tokens', () => {
  it('drops a login once past its lifetime and an access token’s after it, with its tokens, and no sooner', async () => {
    const shop = instance({ auth: { refreshTokenTtlS: 3_600, accessTokenTtlS: 600 } });
    await customer(shop);
    const session = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    await shop.refreshSession.execute({ refreshToken: session.refreshToken });
    const { refreshFamilies, refreshTokens } = shop.store.state;
    const purgeAt = async (ms: number) => {
      shop.clock.set(new Date(new Date(START).getTime() + ms));
      const errors: unknown[] = [];
      startKeyPurge(shop.container, (error) => errors.push(error)).stop();
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).toEqual([]);
    };

    // Expired at 60:00, but its last access token may live until 70:00: a spent token shown till then is theft.
    await purgeAt(70 * 60_000);
    expect({ families: refreshFamilies.size, tokens: refreshTokens.size }).toEqual({ families: 1, tokens: 2 });
    await purgeAt(70 * 60_000 + 1);
    await vi.waitFor(() =>
      expect({ families: refreshFamilies.size, tokens: refreshTokens.size }).toEqual({ families: 0, tokens: 0 }),
    );
  });
});

describe('logout', () => {
  it('ends the login: its refresh token stops working, another login goes on', async () => {
    const shop = instance();
    await customer(shop);
    const one = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const two = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const rotated = await shop.refreshSession.execute({ refreshToken: one.refreshToken });

    await shop.logOut.execute({ refreshToken: rotated.refreshToken });
    await expect(shop.refreshSession.execute({ refreshToken: rotated.refreshToken })).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    await expect(shop.refreshSession.execute({ refreshToken: two.refreshToken })).resolves.toMatchObject({
      account: { id: one.account.id },
    });
  });

  it('says nothing about an unknown or already ended token', async () => {
    const shop = instance();
    await customer(shop);
    const session = await shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    await expect(shop.logOut.execute({ refreshToken: 'never issued' })).resolves.toBeUndefined();
    await shop.logOut.execute({ refreshToken: session.refreshToken });
    await expect(shop.logOut.execute({ refreshToken: session.refreshToken })).resolves.toBeUndefined();
  });
});

describe('logout everywhere', () => {
  it('ends every access and refresh token of the user on every instance within the token-version max age', async () => {
    expect(TOKEN_VERSION_MAX_AGE_MS).toBeLessThanOrEqual(1_000);
    const store = new InMemoryStore();
    const clock = new ManualClock(START);
    const signingKey = parseSigningKey(newSigningKeyPem());
    const a = instance({ store, clock, auth: { signingKey } });
    const b = instance({ store, clock, auth: { signingKey } });
    const ana = await customer(a);
    const bob = await customer(a, 'bob@example.com');
    const one = await a.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const two = await a.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    const bobs = await a.logIn.execute({ email: 'bob@example.com', password: PASSWORD });
    const actor: Actor = { role: 'CUSTOMER', userId: ana.id };
    await expect(b.authenticate.execute(one.accessToken)).resolves.toEqual(actor);

    await a.logOutEverywhere.execute({ actor });

    // The instance that did it refuses at once; the other trusts its reading up to the max age, then not.
    await expect(a.authenticate.execute(one.accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(a.authenticate.execute(two.accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);
    clock.advance(TOKEN_VERSION_MAX_AGE_MS - 1);
    await expect(b.authenticate.execute(one.accessToken)).resolves.toEqual(actor);
    clock.advance(1);
    await expect(b.authenticate.execute(one.accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(b.authenticate.execute(two.accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);

    for (const { refreshToken } of [one, two])
      await expect(b.refreshSession.execute({ refreshToken })).rejects.toBeInstanceOf(InvalidRefreshTokenError);

    // Another user is untouched; a fresh login works everywhere.
    await expect(b.authenticate.execute(bobs.accessToken)).resolves.toEqual({ role: 'CUSTOMER', userId: bob.id });
    await expect(b.refreshSession.execute({ refreshToken: bobs.refreshToken })).resolves.toMatchObject({
      account: { id: bob.id },
    });
    const fresh = await b.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    await expect(a.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    await expect(b.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    await expect(a.refreshSession.execute({ refreshToken: fresh.refreshToken })).resolves.toMatchObject({
      account: { id: ana.id },
    });
  });

  it('accepts at once a token minted under a version newer than the one an instance remembers', async () => {
    const store = new InMemoryStore();
    const clock = new ManualClock(START);
    const signingKey = parseSigningKey(newSigningKeyPem());
    const a = instance({ store, clock, auth: { signingKey } });
    const b = instance({ store, clock, auth: { signingKey } });
    const ana = await customer(a);
    const actor: Actor = { role: 'CUSTOMER', userId: ana.id };
    const old = await a.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    // Both instances read version 0 now, and may trust it for the max age.
    await expect(a.authenticate.execute(old.accessToken)).resolves.toEqual(actor);
    await expect(b.authenticate.execute(old.accessToken)).resolves.toEqual(actor);

    // Reuse detection bumps the version without this instance forgetting what it read.
    const rotated = await a.refreshSession.execute({ refreshToken: old.refreshToken });
    await expect(a.refreshSession.execute({ refreshToken: old.refreshToken })).rejects.toBeInstanceOf(
      InvalidRefreshTokenError,
    );
    const fresh = await a.logIn.execute({ email: 'ana@example.com', password: PASSWORD });

    // No time has passed: both instances remember version 0, yet the fresh token's newer version wins.
    await expect(a.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    await expect(b.authenticate.execute(fresh.accessToken)).resolves.toEqual(actor);
    // The tokens the bump ended stay refused, on both instances.
    for (const shop of [a, b])
      for (const token of [old.accessToken, rotated.accessToken])
        await expect(shop.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);

    // A logout-all still ends the fresh token too: at once where it ran, within the max age elsewhere.
    await b.logOutEverywhere.execute({ actor });
    await expect(b.authenticate.execute(fresh.accessToken)).rejects.toBeInstanceOf(UnauthenticatedError);
    clock.advance(TOKEN_VERSION_MAX_AGE_MS);
    for (const shop of [a, b])
      for (const token of [old.accessToken, rotated.accessToken, fresh.accessToken])
        await expect(shop.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('is refused to the system actor', async () => {
    const shop = instance();
    await expect(shop.logOutEverywhere.execute({ actor: SYSTEM })).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

describe('the login limit', () => {
  const WINDOW_S = LOGIN_FAILURE_WINDOW_MS / 1000;

  async function fail(shop: Shop, times: number, email = 'ana@example.com') {
    for (let i = 0; i < times; i++)
      await expect(shop.logIn.execute({ email, password: `wrong password ${i}` })).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
  }

  it('after 10 failures refuses even the right password, for the whole window, then lets it in', async () => {
    expect(LOGIN_FAILURE_LIMIT).toBe(10);
    expect(WINDOW_S).toBe(900);
    const shop = instance();
    await customer(shop);
    // Letter case and spaces do not make another email.
    for (const email of ['ana@example.com', 'ANA@example.com', ' Ana@Example.COM '])
      await expect(shop.logIn.execute({ email, password: 'wrong password' })).rejects.toBeInstanceOf(
        InvalidCredentialsError,
      );
    await fail(shop, LOGIN_FAILURE_LIMIT - 3);

    const refused = shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD });
    await expect(refused).rejects.toBeInstanceOf(TooManyLoginsError);
    await expect(refused).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: WINDOW_S });

    shop.clock.advance(60_000);
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      retryAfterSeconds: WINDOW_S - 60,
    });
    shop.clock.set(new Date(new Date(START).getTime() + LOGIN_FAILURE_WINDOW_MS - 1_000));
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      retryAfterSeconds: 1,
    });
    // Refusals while throttled are not failures that extend the window.
    shop.clock.set(new Date(new Date(START).getTime() + LOGIN_FAILURE_WINDOW_MS));
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).resolves.toMatchObject({
      account: { email: 'Ana@Example.com' },
    });
  });

  it('counts per email: another account is not throttled', async () => {
    const shop = instance();
    await customer(shop);
    await customer(shop, 'bob@example.com');
    await fail(shop, LOGIN_FAILURE_LIMIT);
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).rejects.toBeInstanceOf(
      TooManyLoginsError,
    );
    await expect(shop.logIn.execute({ email: 'bob@example.com', password: PASSWORD })).resolves.toMatchObject({
      account: { email: 'bob@example.com' },
    });
  });

  it('does not count a successful login as a failure', async () => {
    const shop = instance();
    await customer(shop);
    await fail(shop, LOGIN_FAILURE_LIMIT - 1);
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).resolves.toMatchObject({
      account: { email: 'Ana@Example.com' },
    });
    expect(shop.store.state.loginAttempts).toHaveLength(LOGIN_FAILURE_LIMIT - 1);
    // So the tenth failure is still answered as a failure, and only then the limit holds.
    await fail(shop, 1);
    await expect(shop.logIn.execute({ email: 'ana@example.com', password: PASSWORD })).rejects.toBeInstanceOf(
      TooManyLoginsError,
    );
  });
});
