import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExternalIssuer, OWN_AUDIENCE, OWN_ISSUER } from '../../src/adapters/auth/jose-access-tokens.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { appDependencies, createContainer } from '../../src/container.js';
import { aUser } from '../support/builders.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';

/**
 * An external identity provider trusted beside the service's own tokens (AUTH_JWKS_URL, AUTH_ISSUER,
 * AUTH_AUDIENCE): its JWK Set is served by this file on loopback, and its tokens are signed here with that
 * set's private key.
 */

const ISSUER = 'https://idp.test';
const AUDIENCE = 'shop-api';
const KID = 'idp-key-1';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const idpKeys = await generateKeyPair('ES256');
const jwks = { keys: [{ ...(await exportJWK(idpKeys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' }] };
let jwksRequests = 0;
const idp = createServer((request, response) => {
  jwksRequests++;
  if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
});
await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => idp.close(() => resolve())));
const { port } = idp.address() as AddressInfo;

const external: ExternalIssuer = {
  jwksUrl: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
  issuer: ISSUER,
  audience: AUDIENCE,
  adminClaim: 'roles',
  adminRole: 'shop-admin',
};
const t = useTestApp({ auth: { external } });

const now = () => Math.floor(Date.now() / 1000);

/**
 * An access token as the provider issues it (RFC 9068): ES256 under its kid, typ at+jwt, iss and aud right,
 * 5 minutes to live.
 */
function idpToken(
  claims: JWTPayload & Record<string, unknown> = {},
  {
    key = idpKeys.privateKey,
    kid = KID,
    alg = 'ES256',
    typ = 'at+jwt',
  }: { key?: PrivateKey; kid?: string; alg?: string; typ?: string } = {},
): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, ...claims })
    .setProtectedHeader({ alg, kid, typ })
    .sign(key);
}

interface Account {
  id: number;
  email: string | null;
  name: string;
  role: string;
  createdAt: string;
}

const me = (token: string, app: FastifyInstance = t.app) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });

async function accountOf(token: string): Promise<Account> {
  const response = await me(token);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Account>();
}

const linksOf = async (subject: string) =>
  t.database.db
    .selectFrom('external_identities')
    .select(['issuer', 'user_id'])
    .where('subject', '=', subject)
    .execute();

describe('an external identity provider', () => {
  it('creates a CUSTOMER account the first time a subject is seen, and it acts for that account', async () => {
    const token = await idpToken({ sub: 'abc', name: 'Abc from the IdP', email: 'abc@idp.test' });
    const account = await accountOf(token);
    expect(account).toEqual({
      id: expect.any(Number),
      email: 'abc@idp.test',
      name: 'Abc from the IdP',
      role: 'CUSTOMER',
      createdAt: expect.any(String),
    });
    expect(jwksRequests).toBeGreaterThan(0);

    const balance = await t.app.inject({
      method: 'GET',
      url: `/api/v1/users/${account.id}/balance`,
      headers: bearer(token),
    });
    expect({ status: balance.statusCode, balance: balance.json<{ balance: number }>().balance }).toEqual({
      status: 200,
      balance: 0,
    });
    const charged = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${account.id}/balance/charge`,
      headers: bearer(token),
      payload: { amount: 5_000 },
    });
    expect(charged.statusCode, charged.body).toBe(200);
    // A customer like any other: nobody else's balance, no admin route.
    const someoneElse = await aUser(t.api);
    const theirs = await t.app.inject({
      method: 'GET',
      url: `/api/v1/users/${someoneElse.id}/balance`,
      headers: bearer(token),
    });
    expectProblem(theirs, 403, 'FORBIDDEN');
    const admin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: bearer(token),
      payload: { name: 'Not allowed' },
    });
    expectProblem(admin, 403, 'FORBIDDEN');
  });

  it('finds the same account for the same subject again, and never links by email', async () => {
    const first = await accountOf(await idpToken({ sub: 'same-subject', email: 'shared@idp.test' }));
    const again = await accountOf(await idpToken({ sub: 'same-subject', email: 'shared@idp.test', jti: 'another' }));
    expect(again).toEqual(first);
    expect(await linksOf('same-subject')).toEqual([{ issuer: ISSUER, user_id: first.id }]);
    // Another subject with the same email is another person to the service.
    const other = await accountOf(await idpToken({ sub: 'other-subject', email: 'shared@idp.test' }));
    expect(other.id).not.toBe(first.id);
  });

  it('makes a token ADMIN while its roles claim holds shop-admin, and only while it does', async () => {
    const adminToken = await idpToken({ sub: 'boss', roles: ['viewer', 'shop-admin'] });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: bearer(adminToken),
      payload: { name: 'Made by the IdP admin' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const deliveries = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/data-platform/deliveries',
      headers: bearer(adminToken),
    });
    expect(deliveries.statusCode).toBe(200);
    // The account says so too, for as long as the token does.
    const asAdmin = await accountOf(adminToken);
    expect(asAdmin.role).toBe('ADMIN');
    expect(await accountOf(await idpToken({ sub: 'boss' }))).toEqual({ ...asAdmin, role: 'CUSTOMER' });

    for (const roles of [undefined, ['viewer'], 'shop-admin', [['shop-admin']]]) {
      const token = await idpToken({ sub: 'boss', ...(roles === undefined ? {} : { roles }) });
      const refused = await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/users',
        headers: bearer(token),
        payload: { name: 'Not any more' },
      });
      expectProblem(refused, 403, 'FORBIDDEN');
    }
    // One account all along.
    expect((await linksOf('boss')).length).toBe(1);
  });

  it("accepts an aud array that holds the service's audience", async () => {
    const token = await idpToken({ sub: 'many-audiences', aud: ['another-api', AUDIENCE] });
    expect((await me(token)).statusCode).toBe(200);
  });

  const refusals: [string, () => Promise<string>][] = [
    // With the client id as AUTH_AUDIENCE, the provider's ID token has the same iss and aud: typ tells them apart.
    ['that is an ID token (typ JWT, aud the client id)', () => idpToken({ sub: 'abc', nonce: 'n' }, { typ: 'JWT' })],
    ['for another audience', () => idpToken({ sub: 'abc', aud: 'another-api' })],
    ['expired', () => idpToken({ sub: 'abc', iat: now() - 3_600, exp: now() - 60 })],
    ['not yet valid', () => idpToken({ sub: 'abc', nbf: now() + 600 })],
    ['from another issuer', () => idpToken({ sub: 'abc', iss: 'https://other-idp.test' })],
    [
      'signed by another key under the same kid',
      async () => idpToken({ sub: 'abc' }, { key: (await generateKeyPair('ES256')).privateKey }),
    ],
    [
      'signed by another key under a kid the set lacks',
      async () => idpToken({ sub: 'abc' }, { key: (await generateKeyPair('ES256')).privateKey, kid: 'unknown' }),
    ],
    ['without a subject', () => idpToken({})],
    ['without an expiry', () => idpToken({ sub: 'abc', exp: undefined })],
    // Logout-all ends the tokens issued before it, which only an issue time can tell.
    ['without an issue time', () => idpToken({ sub: 'abc', iat: undefined })],
    [
      'alg: none',
      async () => {
        const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'abc', exp: now() + 300 })}.`;
      },
    ],
    // The provider's key can't speak for the service itself.
    [
      "signed by the provider in the service's own name",
      () => idpToken({ sub: '1', iss: OWN_ISSUER, aud: OWN_AUDIENCE, role: 'ADMIN', ver: 0, jti: 'x' }),
    ],
  ];

  it.each(refusals)('refuses a provider token %s: 401 UNAUTHENTICATED', async (_label, make) => {
    const response = await me(await make());
    expectProblem(response, 401, 'UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer\b/);
  });

  describe('and POST /auth/logout-all', () => {
    /** Polls until `token` is refused, up to 1.5 s; answers how long it took. */
    async function msUntilRefused(app: FastifyInstance, token: string): Promise<number> {
      const started = performance.now();
      while (performance.now() - started < 1_500) {
        const response = await me(token, app);
        if (response.statusCode === 401) {
          expectProblem(response, 401, 'UNAUTHENTICATED');
          return performance.now() - started;
        }
        expect(response.statusCode, response.body).toBe(200);
        await sleep(50);
      }
      return Infinity;
    }

    it("ends the provider's tokens issued before it, on this instance and another, within a second; later ones work", async () => {
      const token = await idpToken({ sub: 'leaving', roles: ['shop-admin'] });
      const account = await accountOf(token);
      // Another instance on the same database and provider, which has just seen the token.
      const other = await buildApp(
        appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: t.database.db }, auth: { external } })),
      );
      try {
        expect((await me(token, other)).statusCode).toBe(200);

        const response = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(token) });
        expect({ status: response.statusCode, body: response.body }).toEqual({ status: 204, body: '' });
        const loggedOutAt = Date.now();

        expect(await msUntilRefused(t.app, token)).toBeLessThanOrEqual(1_000);
        expect(await msUntilRefused(other, token)).toBeLessThanOrEqual(1_000);
        // Every token the provider issued before the logout, not just the one that asked for it.
        const earlier = await idpToken({ sub: 'leaving', iat: Math.floor(loggedOutAt / 1000) - 60, jti: 'earlier' });
        expectProblem(await me(earlier), 401, 'UNAUTHENTICATED');

        // A token issued after it (its iat a later second than the logout's) is a new login and works everywhere.
        while (now() * 1000 <= loggedOutAt) await sleep(20);
        const fresh = await idpToken({ sub: 'leaving', roles: ['shop-admin'], jti: 'fresh' });
        expect(await accountOf(fresh)).toEqual(account);
        expect((await me(fresh, other)).statusCode).toBe(200);
        // The old one stays refused.
        expectProblem(await me(token), 401, 'UNAUTHENTICATED');
        expectProblem(await me(token, other), 401, 'UNAUTHENTICATED');
      } finally {
        await other.close();
      }
    });

    it("leaves another subject's tokens working", async () => {
      const mine = await idpToken({ sub: 'logs-out' });
      const theirs = await idpToken({ sub: 'stays' });
      await accountOf(theirs);
      await accountOf(mine);
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(mine) });
      expect(response.statusCode).toBe(204);
      expect(await msUntilRefused(t.app, mine)).toBeLessThanOrEqual(1_000);
      expect((await me(theirs)).statusCode).toBe(200);
    });
  });

  it('with AUTH_ACCESS_TOKEN_CLAIM token_use=access, takes tokens that carry it and refuses ID tokens', async () => {
    const cognito = await buildApp(
      appDependencies(
        createContainer({
          repositories: { kind: 'POSTGRES', db: t.database.db },
          auth: { external: { ...external, accessTokenClaim: { name: 'token_use', value: 'access' } } },
        }),
      ),
    );
    try {
      const access = await idpToken({ sub: 'cognito-user', token_use: 'access' }, { typ: 'JWT' });
      expect((await me(access, cognito)).statusCode).toBe(200);
      const id = await idpToken({ sub: 'cognito-user', token_use: 'id' }, { typ: 'JWT' });
      expectProblem(await me(id, cognito), 401, 'UNAUTHENTICATED');
      // The claim replaces the header: an at+jwt token without it is not one of this provider's access tokens.
      expectProblem(await me(await idpToken({ sub: 'cognito-user' }), cognito), 401, 'UNAUTHENTICATED');
    } finally {
      await cognito.close();
    }
  });

  it("still accepts the service's own tokens beside the provider's", async () => {
    expect((await accountOf(t.adminToken)).role).toBe('ADMIN');
  });
});
