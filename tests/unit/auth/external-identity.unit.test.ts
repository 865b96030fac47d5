import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { TOKEN_VERSION_MAX_AGE_MS } from '../../../src/application/auth/token-versions.js';

import { type AuthOptions, appDependencies, createContainer } from '../../../src/container.js';
import { UnauthenticatedError } from '../../../src/domain/account/account-errors.js';
import { fromTestAddress } from '../../support/client-address.js';
import {
  IDP_AUDIENCE,
  IDP_ISSUER,
  IDP_KID,
  type TestIdentityProvider,
  startIdentityProvider,
} from './identity-provider.js';

const START = '2026-11-24T03:00:00.000Z';
let idp: TestIdentityProvider;

beforeAll(async () => {
  idp = await startIdentityProvider();
});
afterAll(() => idp.close());

function instance({
  store = new InMemoryStore(),
  clock = new ManualClock(START),
  auth,
}: { store?: InMemoryStore; clock?: ManualClock; auth?: AuthOptions } = {}) {
  const container = createContainer({
    repositories: { kind: 'IN_MEMORY', store },
    clock,
    auth: auth ?? { external: idp.external },
  });
  const deps = appDependencies(container);
  return { store, clock, ...deps, logIn: fromTestAddress(deps.logIn) };
}

describe('Authenticate with an external identity provider', () => {
  it('creates a customer account on first sight, named from the token, with a zero balance', async () => {
    const shop = instance();
    const token = await idp.token(shop.clock.now(), 'kc-0001', { name: 'Ines Idp', email: 'Ines@IdP.example' });
    const actor = await shop.authenticate.execute(token);
    expect(actor).toEqual({ role: 'CUSTOMER', userId: expect.any(Number) });
    if (actor.role === 'SYSTEM') throw new Error('unreachable');
    await expect(shop.getAccount.execute({ actor })).resolves.toEqual({
      id: actor.userId,
      name: 'Ines Idp',
      email: 'Ines@IdP.example',
      role: 'CUSTOMER',
      createdAt: new Date(START),
    });
    await expect(shop.getBalance.execute({ actor, userId: actor.userId })).resolves.toMatchObject({ amount: 0 });
    // A linked identity, no password.
    expect(shop.store.state.externalIdentities.get(JSON.stringify([IDP_ISSUER, 'kc-0001']))).toBe(actor.userId);
    expect(shop.store.state.credentials.size).toBe(0);
  });

  it('maps the next token of the same (iss, sub) to the same account, even with another email, on any instance', async () => {
    const store = new InMemoryStore();
    const clock = new ManualClock(START);
    const one = instance({ store, clock });
    const first = await one.authenticate.execute(await idp.token(clock.now(), 'kc-0002', { email: 'old@idp.example' }));
    const users = store.state.users.size;

    clock.advance(60_000);
    const changed = await idp.token(clock.now(), 'kc-0002', { email: 'new@idp.example', name: 'Renamed' });
    await expect(one.authenticate.execute(changed)).resolves.toEqual(first);
    // Another instance on the same store knows nothing in its cache: it finds the link.
    const other = instance({ store, clock });
    await expect(other.authenticate.execute(changed)).resolves.toEqual(first);
    expect(store.state.users.size).toBe(users);
  });

  it('gives another subject another account, even with the same email', async () => {
    const shop = instance();
    const a = await shop.authenticate.execute(await idp.token(shop.clock.now(), 'kc-a', { email: 'same@idp.example' }));
    const b = await shop.authenticate.execute(await idp.token(shop.clock.now(), 'kc-b', { email: 'same@idp.example' }));
    expect(a).not.toEqual(b);
  });

  it('never links to a password account by email', async () => {
    const shop = instance();
    const password = await shop.signUp.execute({ email: 'ana@example.com', password: 'ana password', name: 'Ana' });
    const token = await idp.token(shop.clock.now(), 'kc-ana', { email: 'ana@example.com', name: 'Ana (IdP)' });
    const actor = await shop.authenticate.execute(token);
    expect(actor).toEqual({ role: 'CUSTOMER', userId: expect.any(Number) });
    expect(actor).not.toEqual({ role: 'CUSTOMER', userId: password.id });
    // The password account is still its own, and still the one its password opens.
    const session = await shop.logIn.execute({ email: 'ANA@example.com', password: 'ana password' });
    expect(session.account.id).toBe(password.id);
    expect(shop.store.state.credentials.size).toBe(1);
  });

  it('is ADMIN while the roles claim holds shop-admin, and a customer otherwise; the account stays a customer', async () => {
    const shop = instance();
    const now = shop.clock.now();
    const admin = await shop.authenticate.execute(await idp.token(now, 'kc-boss', { roles: ['viewer', 'shop-admin'] }));
    expect(admin).toEqual({ role: 'ADMIN', userId: expect.any(Number) });
    if (admin.role === 'SYSTEM') throw new Error('unreachable');
    expect(shop.store.state.users.get(admin.userId)?.role).toBe('CUSTOMER');

    for (const claims of [
      {},
      { roles: ['viewer'] },
      { roles: 'shop-admin' },
      { groups: ['shop-admin'] },
      { roles: [1] },
    ]) {
      await expect(shop.authenticate.execute(await idp.token(now, 'kc-boss', claims))).resolves.toEqual({
        role: 'CUSTOMER',
        userId: admin.userId,
      });
    }
  });

  it('names an account without name or email claims after its subject', async () => {
    const shop = instance();
    const actor = await shop.authenticate.execute(await idp.token(shop.clock.now(), 'kc-bare'));
    if (actor.role === 'SYSTEM') throw new Error('unreachable');
    expect(shop.store.state.users.get(actor.userId)).toMatchObject({ name: 'kc-bare', email: null, role: 'CUSTOMER' });
  });

  it('keeps no email claim that is not an email address', async () => {
    const shop = instance();
    const actor = await shop.authenticate.execute(
      await idp.token(shop.clock.now(), 'kc-odd', { name: 'Odd', email: 'not an email' }),
    );
    if (actor.role === 'SYSTEM') throw new Error('unreachable');
    expect(shop.store.state.users.get(actor.userId)).toMatchObject({ name: 'Odd', email: null });
  });

  it('accepts an audience array holding ours, and fetches the key set once for many tokens', async () => {
    const before = idp.fetches();
    const shop = instance();
    const now = shop.clock.now();
    for (let i = 0; i < 5; i++) {
      const token = await idp.token(now, `kc-many-${i}`, { aud: ['account', IDP_AUDIENCE] });
      await expect(shop.authenticate.execute(token)).resolves.toMatchObject({ role: 'CUSTOMER' });
    }
    expect(idp.fetches() - before).toBe(1);
  });

  it('ends every token issued before a logout-all, on every instance within the max age; later tokens work', async () => {
    const store = new InMemoryStore();
    const clock = new ManualClock(START);
    const [a, b] = [instance({ store, clock }), instance({ store, clock })];
    const early = await idp.token(clock.now(), 'kc-leaving');
    clock.advance(30_000);
    const token = await idp.token(clock.now(), 'kc-leaving', { roles: ['shop-admin'] });
    const actor = await a.authenticate.execute(token);
    if (actor.role === 'SYSTEM') throw new Error('unreachable');
    const bystander = await idp.token(clock.now(), 'kc-staying');
    const other = await a.authenticate.execute(bystander);

    clock.advance(250); // The logout falls 250 ms into the second the token was issued in.
    await expect(b.authenticate.execute(early)).resolves.toEqual({ role: 'CUSTOMER', userId: actor.userId });
    await a.logOutEverywhere.execute({ actor });

    // The instance that did it refuses at once; the other trusts its reading up to the max age, then not.
    await expect(a.authenticate.execute(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(a.authenticate.execute(early)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    clock.advance(TOKEN_VERSION_MAX_AGE_MS - 1);
    await expect(b.authenticate.execute(early)).resolves.toMatchObject({ userId: actor.userId });
    clock.advance(1);
    for (const shop of [a, b])
      for (const old of [token, early])
        await expect(shop.authenticate.execute(old)).rejects.toBeInstanceOf(UnauthenticatedError);
    // Another subject is untouched.
    await expect(b.authenticate.execute(bystander)).resolves.toEqual(other);

    // A token of the logout's own second may have been issued before it: refused too (the safe side).
    const sameSecond = await idp.token(clock.now(), 'kc-leaving', { jti: 'same-second' });
    for (const shop of [a, b])
      await expect(shop.authenticate.execute(sameSecond)).rejects.toBeInstanceOf(UnauthenticatedError);
    // One of the next second is a new login, on every instance, with the same account.
    clock.advance(1_000);
    const fresh = await idp.token(clock.now(), 'kc-leaving', { roles: ['shop-admin'] });
    for (const shop of [a, b]) await expect(shop.authenticate.execute(fresh)).resolves.toEqual(actor);
    // The old tokens stay refused, even once the clock has moved on.
    await expect(b.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  describe('refuses, and creates no account for', () => {
    const now = new Date(START);
    const seconds = Math.floor(now.getTime() / 1000);
    const cases: [string, () => Promise<string>][] = [
      // An ID token is for the client, not the API: with the client id as our audience only typ tells them apart.
      [
        'an ID token (typ JWT, aud the client id)',
        () => idp.token(now, 'kc-x', { nonce: 'n-0S6', auth_time: seconds }, { typ: 'JWT' }),
      ],
      ['a token with no typ', () => idp.token(now, 'kc-x', {}, { typ: undefined })],
      ['a token of another typ', () => idp.token(now, 'kc-x', {}, { typ: 'id_token+jwt' })],
      ['another audience', () => idp.token(now, 'kc-x', { aud: 'some-other-api' })],
      [
        'our own audience (a token for the service, not from it)',
        () => idp.token(now, 'kc-x', { aud: 'urn:shop-backend:api' }),
      ],
      ['another issuer', () => idp.token(now, 'kc-x', { iss: 'https://evil.example/' })],
      ['an expired token', () => idp.token(now, 'kc-x', { iat: seconds - 600, exp: seconds - 10 })],
      ['a token with no exp', () => idp.token(now, 'kc-x', { exp: undefined })],
      // Logout-all ends the tokens issued before it, which only an issue time can tell.
      ['a token with no iat', () => idp.token(now, 'kc-x', { iat: undefined })],
      ['a token not yet valid', () => idp.token(now, 'kc-x', { nbf: seconds + 600 })],
      // Issued "in the future", it would outlive any logout-all: its iat is after every tokens_not_before.
      ['a token issued an hour from now', () => idp.token(now, 'kc-x', { iat: seconds + 3600 })],
      ['a subject with a control character (PostgreSQL refuses NUL)', () => idp.token(now, 'kc\u0000x')],
      ['a token with no sub', () => idp.token(now, '', { sub: undefined })],
      [
        'HS256 with a shared secret',
        () =>
          new SignJWT({ sub: 'kc-x', roles: ['shop-admin'] })
            .setProtectedHeader({ alg: 'HS256', kid: IDP_KID })
            .setIssuer(IDP_ISSUER)
            .setAudience(IDP_AUDIENCE)
            .setIssuedAt(seconds)
            .setExpirationTime(seconds + 300)
            .sign(new TextEncoder().encode('a shared secret of enough length for HS256')),
      ],
      [
        'HS256 with the provider’s public key as the secret',
        () =>
          new SignJWT({ sub: 'kc-x', roles: ['shop-admin'] })
            .setProtectedHeader({ alg: 'HS256', kid: IDP_KID })
            .setIssuer(IDP_ISSUER)
            .setAudience(IDP_AUDIENCE)
            .setIssuedAt(seconds)
            .setExpirationTime(seconds + 300)
            .sign(new TextEncoder().encode(idp.publicKey.export({ type: 'spki', format: 'pem' }).toString())),
      ],
      [
        'a token signed by another key under the provider’s kid',
        () =>
          new SignJWT({ sub: 'kc-x', roles: ['shop-admin'] })
            .setProtectedHeader({ alg: 'RS256', kid: IDP_KID })
            .setIssuer(IDP_ISSUER)
            .setAudience(IDP_AUDIENCE)
            .setIssuedAt(seconds)
            .setExpirationTime(seconds + 300)
            .sign(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
      ],
      [
        'alg none',
        async () => {
          const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
          const claims = { iss: IDP_ISSUER, aud: IDP_AUDIENCE, sub: 'kc-x', iat: seconds, exp: seconds + 300 };
          return `${part({ alg: 'none', kid: IDP_KID })}.${part(claims)}.`;
        },
      ],
    ];

    it.each(cases)('%s', async (_case, token) => {
      const shop = instance();
      const valid = await idp.token(now, 'kc-valid');
      const refused = shop.authenticate.execute(await token());
      await expect(refused).rejects.toBeInstanceOf(UnauthenticatedError);
      await expect(refused).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(shop.store.state.users.size).toBe(0);
      expect(shop.store.state.externalIdentities.size).toBe(0);
      // The same instance takes a good token of the provider: only the defect made the difference.
      await expect(shop.authenticate.execute(valid)).resolves.toMatchObject({ role: 'CUSTOMER' });
    });
  });

  it('takes typ at+jwt in any letter case, with or without the application/ prefix (RFC 9068)', async () => {
    const shop = instance();
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+JWT'])
      await expect(
        shop.authenticate.execute(await idp.token(shop.clock.now(), 'kc-typ', {}, { typ })),
      ).resolves.toMatchObject({ role: 'CUSTOMER' });
  });

  describe('with an access-token claim configured (token_use=access)', () => {
    const cognito = () =>
      instance({ auth: { external: { ...idp.external, accessTokenClaim: { name: 'token_use', value: 'access' } } } });

    it('takes a token that carries the claim, whatever its typ', async () => {
      const shop = cognito();
      for (const typ of ['JWT', undefined, 'at+jwt'])
        await expect(
          shop.authenticate.execute(await idp.token(shop.clock.now(), 'cog-1', { token_use: 'access' }, { typ })),
        ).resolves.toMatchObject({ role: 'CUSTOMER' });
    });

    it.each([
      ['an ID token (token_use id)', { token_use: 'id' }],
      ['a token without the claim, even typ at+jwt', {}],
      ['the claim with another type of value', { token_use: ['access'] }],
    ])('refuses %s, and creates no account', async (_case, claims) => {
      const shop = cognito();
      const token = await idp.token(shop.clock.now(), 'cog-2', claims);
      await expect(shop.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);
      expect(shop.store.state.users.size).toBe(0);
    });
  });

  it('refuses the provider’s tokens when no provider is configured', async () => {
    const shop = instance({ auth: {} });
    const token = await idp.token(shop.clock.now(), 'kc-0009', { roles: ['shop-admin'] });
    await expect(shop.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(shop.store.state.users.size).toBe(0);
  });

  it('refuses everything of the provider while its key set cannot be fetched', async () => {
    const shop = instance({
      auth: { external: { ...idp.external, jwksUrl: new URL('http://127.0.0.1:1/jwks.json') } },
    });
    const token = await idp.token(shop.clock.now(), 'kc-0010');
    await expect(shop.authenticate.execute(token)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(shop.store.state.users.size).toBe(0);
  });
});
