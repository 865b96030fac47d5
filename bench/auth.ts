/**
 * Authentication for the bench. The service is started with a signing key made for this run
 * (AUTH_SIGNING_KEY) and an administrator (ADMIN_EMAIL, ADMIN_PASSWORD). The bench loads its customers in
 * bulk with SQL, so they have no password; it mints each one's access token with the same key, as the
 * service's own login would (role CUSTOMER, token version 0), before the timed run, so every customer acts
 * for themselves with a token of their own. The administrator logs in over HTTP like anyone else. Logging
 * in is measured by a scenario of its own (`login`), since Argon2id makes it deliberately slow.
 */
import { randomBytes } from 'node:crypto';
import { newSigningKeyPem } from '../src/adapters/auth/signing-keys.js';

/** The secrets of one run: made fresh each time, never written anywhere. */
export interface BenchSecrets {
  readonly signingKeyPem: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
}

export function benchSecrets(): BenchSecrets {
  return {
    signingKeyPem: newSigningKeyPem(),
    adminEmail: 'bench-admin@bench.example',
    adminPassword: randomBytes(18).toString('base64url'),
  };
}

/** What the service process is started with besides its database. */
export function serviceAuthEnvironment(secrets: BenchSecrets): Record<string, string> {
  return {
    AUTH_SIGNING_KEY: secrets.signingKeyPem,
    ADMIN_EMAIL: secrets.adminEmail,
    ADMIN_PASSWORD: secrets.adminPassword,
  };
}

/**
 * Minted tokens live long enough for the longest full run (popular's data generation takes minutes); the
 * service only checks `exp`, so a lifetime longer than its own 15 minutes is accepted.
 */
export const MINTED_TOKEN_LIFETIME_S = 24 * 3600;

interface TokenIssuer {
  issue(subject: { userId: number; role: 'CUSTOMER' | 'ADMIN'; tokenVersion: number }): Promise<string>;
  verify(token: string): Promise<unknown>;
}

export interface BenchAuth {
  /** The administrator, logged in over HTTP: for /admin/* set-up calls. */
  readonly admin: { readonly userId: number; readonly token: string };
  /** One access token per customer, in the order given, minted with the service's key. */
  tokensFor(userIds: readonly number[]): Promise<string[]>;
  /** JoseAccessTokens.verify alone: signature and claims, no token-version read. */
  verify(token: string): Promise<unknown>;
}

const MINT_CHUNK = 1_000;

export function benchAuth(issuer: TokenIssuer, admin: BenchAuth['admin']): BenchAuth {
  return {
    admin,
    async tokensFor(userIds) {
      const tokens: string[] = [];
      for (let start = 0; start < userIds.length; start += MINT_CHUNK)
        tokens.push(
          ...(await Promise.all(
            userIds
              .slice(start, start + MINT_CHUNK)
              .map((userId) => issuer.issue({ userId, role: 'CUSTOMER', tokenVersion: 0 })),
          )),
        );
      return tokens;
    },
    verify: (token) => issuer.verify(token),
  };
}

async function call(
  origin: string,
  method: 'GET' | 'POST',
  path: string,
  { body, token }: { body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

/**
 * Before any scenario: logs the administrator in, and checks that authentication is really on and that the
 * bench's tokens are the right ones: no token is 401, the admin may create a user, a token minted for that
 * customer reads their own balance, and the same token is 403 on an admin route and on another user's
 * balance. Uses its own fetch, so these deliberate refusals don't count against the scenarios' clients.
 */
export async function logInAdminAndCheck(
  origin: string,
  secrets: BenchSecrets,
  issuer: TokenIssuer,
): Promise<BenchAuth['admin']> {
  const expect = (what: string, got: { status: number; body: unknown }, status: number) => {
    if (got.status !== status)
      throw new Error(`auth check: ${what} answered ${got.status}, not ${status}: ${JSON.stringify(got.body)}`);
  };
  const login = await call(origin, 'POST', '/api/v1/auth/login', {
    body: { email: secrets.adminEmail, password: secrets.adminPassword },
  });
  expect('the admin login', login, 200);
  const token = login.body.accessToken as string;
  const account = login.body.account as { id: number; role: string };
  if (account.role !== 'ADMIN') throw new Error(`auth check: the admin logged in as ${account.role}`);

  expect('GET /auth/me without a token', await call(origin, 'GET', '/api/v1/auth/me'), 401);
  const created = await call(origin, 'POST', '/api/v1/admin/users', { body: { name: 'bench check' }, token });
  expect('POST /admin/users as the admin', created, 201);
  const customerId = created.body.id as number;
  const customer = await issuer.issue({ userId: customerId, role: 'CUSTOMER', tokenVersion: 0 });
  expect(
    "a minted customer token on the customer's own balance",
    await call(origin, 'GET', `/api/v1/users/${customerId}/balance`, { token: customer }),
    200,
  );
  expect(
    'a customer token on POST /admin/users',
    await call(origin, 'POST', '/api/v1/admin/users', { body: { name: 'not allowed' }, token: customer }),
    403,
  );
  expect(
    "a customer token on another user's balance",
    await call(origin, 'GET', `/api/v1/users/${account.id}/balance`, { token: customer }),
    403,
  );
  return { userId: account.id, token };
}
