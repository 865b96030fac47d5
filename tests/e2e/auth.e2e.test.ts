import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/adapters/http/app.js';
import { newSigningKeyPem, parseSigningKey } from '../../src/adapters/auth/signing-keys.js';
import { appDependencies, createContainer } from '../../src/container.js';
import {
  type Api,
  type OrderView,
  type UserCouponView,
  aCharge,
  aCoupon,
  aCouponFor,
  aProduct,
  anOrder,
  balanceOf,
  couponsOf,
  historyOf,
  ordersOf,
  productBody,
  stockOf,
} from '../support/builders.js';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, bearer, expectProblem, useTestApp } from '../support/test-app.js';

/**
 * The contract's "Authentication and authorization" section over HTTP: accounts, logins, tokens and their
 * ends, who may touch whose money, coupons and orders, Idempotency-Keys scoped to the caller, and the edge's
 * headers. The route-by-route access matrix is route-matrix.e2e.test.ts.
 */

// Shared with a second instance below, as instances on one database share AUTH_SIGNING_KEY.
const signingKey = parseSigningKey(newSigningKeyPem());
// Every request of this file comes from one address and it signs up and logs in well past the default
// limit a minute; that limit has its own file, auth-rate-limit.e2e.test.ts.
const t = useTestApp({ auth: { signingKey, rateLimitPerMinute: 10_000 } });

type Body = Record<string, unknown>;

interface Tokens {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
  account: Account;
}

interface Account {
  id: number;
  email: string | null;
  name: string;
  role: string;
  createdAt: string;
}

const PASSWORD = 'correct horse battery';
let seq = 0;
const anEmail = (tag: string) => `${tag}-${process.pid}-${++seq}@tests.invalid`;

const post = (url: string, payload?: Body, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload }) });

const get = (url: string, token?: string) =>
  t.app.inject({ method: 'GET', url, headers: token === undefined ? {} : bearer(token) });

const signUp = (body: Body) => post('/api/v1/auth/signup', body);
const logIn = (email: string, password = PASSWORD) => post('/api/v1/auth/login', { email, password });
const refresh = (refreshToken: string) => post('/api/v1/auth/refresh', { refreshToken });

/** A new customer account, signed up over HTTP. */
async function aCustomer(tag = 'customer'): Promise<{ account: Account; email: string }> {
  const email = anEmail(tag);
  const response = await signUp({ email, password: PASSWORD, name: `The ${tag}` });
  expect(response.statusCode, response.body).toBe(201);
  return { account: response.json<Account>(), email };
}

/** Logged in over HTTP: the tokens the service answered. */
async function loggedIn(email: string, password = PASSWORD): Promise<Tokens> {
  const response = await logIn(email, password);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Tokens>();
}

/** A customer signed up and logged in, as an Api the builders can use. */
async function aSignedInCustomer(tag?: string): Promise<{ account: Account; email: string; api: Api; tokens: Tokens }> {
  const customer = await aCustomer(tag);
  const tokens = await loggedIn(customer.email);
  return { ...customer, tokens, api: { app: t.app, token: tokens.accessToken } };
}

/** A problem's body without what differs on every request. */
const withoutRequestId = (response: LightMyRequestResponse) => {
  const { requestId: _requestId, ...rest } = response.json<Body>();
  return rest;
};

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /auth/signup', () => {
  it('creates a CUSTOMER account whose balance is 0', async () => {
    const email = anEmail('Signup');
    const response = await signUp({ email, password: PASSWORD, name: 'New customer' });
    expect(response.statusCode, response.body).toBe(201);
    const account = response.json<Account>();
    expect(account).toEqual({
      id: expect.any(Number),
      email,
      name: 'New customer',
      role: 'CUSTOMER',
      createdAt: expect.stringMatching(ISO),
    });

    const { accessToken } = await loggedIn(email);
    const balance = await get(`/api/v1/users/${account.id}/balance`, accessToken);
    expect({ status: balance.statusCode, body: balance.json() }).toEqual({
      status: 200,
      body: { userId: account.id, balance: 0, updatedAt: account.createdAt },
    });
  });

  it('refuses an email already taken in another letter case: 409 EMAIL_TAKEN', async () => {
    const email = anEmail('Taken');
    expect((await signUp({ email, password: PASSWORD, name: 'First' })).statusCode).toBe(201);
    for (const again of [email.toLowerCase(), email.toUpperCase()])
      expectProblem(await signUp({ email: again, password: 'another password', name: 'Second' }), 409, 'EMAIL_TAKEN');
  });

  const valid = () => ({ email: anEmail('invalid'), password: PASSWORD, name: 'Someone' });
  const domain = '@tests.invalid';
  it.each<[string, (body: Body) => Body, string]>([
    [
      'an email of 255 characters',
      (body) => ({ ...body, email: `${'a'.repeat(255 - domain.length)}${domain}` }),
      'email',
    ],
    ['an email that is not one', (body) => ({ ...body, email: 'not-an-email' }), 'email'],
    ['a password of 7 characters', (body) => ({ ...body, password: 'x'.repeat(7) }), 'password'],
    ['a password of 129 characters', (body) => ({ ...body, password: 'x'.repeat(129) }), 'password'],
    ['an empty name', (body) => ({ ...body, name: '' }), 'name'],
    ['no email', ({ email: _email, ...body }) => body, 'email'],
    ['an unknown field (role: ADMIN)', (body) => ({ ...body, role: 'ADMIN' }), 'role'],
  ])('refuses %s: 400 INVALID_REQUEST, and creates nothing', async (_label, change, path) => {
    const body = change(valid());
    const refused = expectProblem(await signUp(body), 400, 'INVALID_REQUEST');
    expect((refused.errors as { path: string }[]).map((error) => error.path)).toContain(path);
    // Nothing was stored: the same email (where the body had a valid one) signs up afterwards.
    if (typeof body.email === 'string' && body.email.length <= 254 && body.email.includes('@'))
      expect((await signUp({ ...valid(), email: body.email })).json<Account>().role).toBe('CUSTOMER');
  });

  it('takes the bounds themselves: an email of 254 characters, passwords of 8 and 128, a name of 100', async () => {
    const local = `long-${process.pid}-${++seq}-`;
    const longEmail = `${local}${'e'.repeat(254 - local.length - domain.length)}${domain}`;
    expect(longEmail.length).toBe(254);
    const long = await signUp({ email: longEmail, password: 'p'.repeat(128), name: 'n'.repeat(100) });
    expect(long.statusCode, long.body).toBe(201);
    expect((await logIn(longEmail, 'p'.repeat(128))).statusCode).toBe(200);
    const shortEmail = anEmail('short');
    expect((await signUp({ email: shortEmail, password: 'p'.repeat(8), name: 'n' })).statusCode).toBe(201);
    expect((await logIn(shortEmail, 'p'.repeat(8))).statusCode).toBe(200);
  });
});

describe('POST /auth/login', () => {
  it('refuses an email with a control character as a bad request (PostgreSQL refuses NUL in text)', async () => {
    for (const email of ['a\u0000b@shop.test', 'a\u0007b@shop.test']) {
      const response = await post('/api/v1/auth/login', { email, password: 'whatever-1' });
      expectProblem(response, 400, 'INVALID_REQUEST');
    }
  });

  it('answers the tokens: a Bearer access token of 900 s, a refresh token and the account', async () => {
    const { account, email } = await aCustomer('login');
    const response = await logIn(email);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshToken: expect.any(String),
      account,
    });
  });

  it('signs the access token with EdDSA under a kid GET /.well-known/jwks.json publishes; sub is the user id', async () => {
    const { account, email } = await aCustomer('jwt');
    const { accessToken } = await loggedIn(email);
    const jwksResponse = await get('/.well-known/jwks.json');
    expect(jwksResponse.statusCode).toBe(200);
    const jwks = jwksResponse.json<{ keys: { kid?: string; d?: string }[] }>();

    const header = decodeProtectedHeader(accessToken);
    expect(header.alg).toBe('EdDSA');
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
    expect(jwks.keys.every((key) => key.d === undefined)).toBe(true); // public halves only
    const claims = decodeJwt(accessToken);
    expect(claims.sub).toBe(String(account.id));
    expect(claims.exp! - claims.iat!).toBe(900);
    // And a client can check it with nothing but the published set.
    const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks as never), { algorithms: ['EdDSA'] });
    expect(payload.sub).toBe(String(account.id));
  });

  it('compares the email case-insensitively', async () => {
    const { account, email } = await aCustomer('CaseLogin');
    expect((await loggedIn(email.toUpperCase())).account.id).toBe(account.id);
  });

  it('answers an unknown email exactly as a wrong password: 401 INVALID_CREDENTIALS', async () => {
    const { email } = await aCustomer('credentials');
    const wrongPassword = await logIn(email, 'not the password');
    const unknownEmail = await logIn(anEmail('nobody'), 'not the password');
    expectProblem(wrongPassword, 401, 'INVALID_CREDENTIALS');
    expectProblem(unknownEmail, 401, 'INVALID_CREDENTIALS');
    expect(withoutRequestId(unknownEmail)).toEqual(withoutRequestId(wrongPassword));
    const { date: _a, 'x-request-id': _b, ...wrongHeaders } = wrongPassword.headers;
    const { date: _c, 'x-request-id': _d, ...unknownHeaders } = unknownEmail.headers;
    expect(unknownHeaders).toEqual(wrongHeaders);
  });

  it('after 10 failed logins for an email, answers every login for it 429 TOO_MANY_REQUESTS with Retry-After', async () => {
    const { email } = await aCustomer('throttled');
    const bystander = await aCustomer('bystander');
    for (let failure = 1; failure <= 10; failure++)
      expectProblem(await logIn(email, `wrong password ${failure}`), 401, 'INVALID_CREDENTIALS');

    for (const [label, response] of [
      ['an 11th wrong password', await logIn(email, 'wrong password 11')],
      ['the right password', await logIn(email)],
      ['the email in capitals', await logIn(email.toUpperCase())],
    ] as const) {
      expectProblem(response, 429, 'TOO_MANY_REQUESTS');
      const retryAfter = String(response.headers['retry-after']);
      expect(retryAfter, label).toMatch(/^[1-9][0-9]*$/);
      expect(Number(retryAfter), label).toBeLessThanOrEqual(15 * 60);
    }
    // Another email is not throttled by this one's failures.
    expect((await logIn(bystander.email)).statusCode).toBe(200);
  });

  it('refuses a malformed body with 400', async () => {
    expectProblem(await post('/api/v1/auth/login', { email: 'someone@tests.invalid' }), 400, 'INVALID_REQUEST');
    expectProblem(await post('/api/v1/auth/login', { email: 'a@b', password: 'x', extra: 1 }), 400, 'INVALID_REQUEST');
  });
});

describe('POST /auth/refresh', () => {
  it('rotates: a new refresh token; the spent one presented again ends the login, its successor too', async () => {
    const { account, email } = await aCustomer('refresh');
    const first = await loggedIn(email);
    const otherLogin = await loggedIn(email);

    const rotated = await refresh(first.refreshToken);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const second = rotated.json<Tokens>();
    expect(second).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshToken: expect.any(String),
      account,
    });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await get('/api/v1/auth/me', second.accessToken)).json<Account>().id).toBe(account.id);

    expectProblem(await refresh(first.refreshToken), 401, 'INVALID_REFRESH_TOKEN'); // reuse: theft
    expectProblem(await refresh(second.refreshToken), 401, 'INVALID_REFRESH_TOKEN'); // the family has ended
    // Another login of the same user is another family: untouched.
    expect((await refresh(otherLogin.refreshToken)).statusCode).toBe(200);
  });

  it('refuses an unknown refresh token with 401 INVALID_REFRESH_TOKEN and a malformed body with 400', async () => {
    expectProblem(await refresh('a'.repeat(43)), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await post('/api/v1/auth/refresh', {}), 400, 'INVALID_REQUEST');
  });
});

describe('POST /auth/logout', () => {
  it("answers 204 and ends that login's refresh tokens, not another login's", async () => {
    const { email } = await aCustomer('logout');
    const ending = await loggedIn(email);
    const staying = await loggedIn(email);
    const response = await post('/api/v1/auth/logout', { refreshToken: ending.refreshToken });
    expect({ status: response.statusCode, body: response.body }).toEqual({ status: 204, body: '' });
    expectProblem(await refresh(ending.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
    expect((await refresh(staying.refreshToken)).statusCode).toBe(200);
    // Again, or with a token nobody has: still 204, saying nothing.
    expect((await post('/api/v1/auth/logout', { refreshToken: ending.refreshToken })).statusCode).toBe(204);
    expect((await post('/api/v1/auth/logout', { refreshToken: 'b'.repeat(43) })).statusCode).toBe(204);
    expectProblem(await post('/api/v1/auth/logout', {}), 400, 'INVALID_REQUEST');
  });
});

describe('POST /auth/logout-all', () => {
  /** Polls until `token` is refused, up to 1.5 s; answers how long it took. */
  async function msUntilRefused(app: FastifyInstance, token: string): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < 1_500) {
      const response = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
      if (response.statusCode === 401) {
        expectProblem(response, 401, 'UNAUTHENTICATED');
        return performance.now() - started;
      }
      expect(response.statusCode).toBe(200);
      await sleep(50);
    }
    return Infinity;
  }

  it('ends every access and refresh token of the user within a second, on this instance and another', async () => {
    const { email } = await aCustomer('everywhere');
    const one = await loggedIn(email);
    const two = await loggedIn(email);
    // A second instance on the same database and key, which has just seen the token (and read its version).
    const other = await buildApp(
      appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: t.database.db }, auth: { signingKey } })),
    );
    try {
      const seen = await other.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(two.accessToken) });
      expect(seen.statusCode).toBe(200);

      const response = await post('/api/v1/auth/logout-all', undefined, bearer(one.accessToken));
      expect({ status: response.statusCode, body: response.body }).toEqual({ status: 204, body: '' });

      expect(await msUntilRefused(t.app, one.accessToken)).toBeLessThanOrEqual(1_000);
      expect(await msUntilRefused(t.app, two.accessToken)).toBeLessThanOrEqual(1_000);
      expect(await msUntilRefused(other, two.accessToken)).toBeLessThanOrEqual(1_000);
    } finally {
      await other.close();
    }
    expectProblem(await refresh(one.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await refresh(two.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
    // Logging in again works, with tokens of the new version.
    const again = await loggedIn(email);
    expect((await get('/api/v1/auth/me', again.accessToken)).statusCode).toBe(200);
  });

  it('takes a login made right after reuse detection at once: its logout-all is 204 and ends its tokens', async () => {
    const { email } = await aCustomer('after-reuse');
    const first = await loggedIn(email);
    // The instance reads the user's token version, and may trust it for a while.
    expect((await get('/api/v1/auth/me', first.accessToken)).statusCode).toBe(200);
    expect((await refresh(first.refreshToken)).statusCode).toBe(200);
    expectProblem(await refresh(first.refreshToken), 401, 'INVALID_REFRESH_TOKEN'); // reuse: the version moves on

    const one = await loggedIn(email);
    const two = await loggedIn(email);
    expect((await post('/api/v1/auth/logout', { refreshToken: one.refreshToken })).statusCode).toBe(204);
    const response = await post('/api/v1/auth/logout-all', undefined, bearer(two.accessToken));
    expect({ status: response.statusCode, body: response.body }).toEqual({ status: 204, body: '' });

    expectProblem(await get('/api/v1/auth/me', two.accessToken), 401, 'UNAUTHENTICATED');
    expectProblem(await get('/api/v1/auth/me', first.accessToken), 401, 'UNAUTHENTICATED');
    expectProblem(await refresh(two.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('is 401 without a token', async () => {
    const response = await post('/api/v1/auth/logout-all');
    expectProblem(response, 401, 'UNAUTHENTICATED');
    // RFC 6750 §3.1: no error code when no token was sent; invalid_token when one was and is refused.
    expect(response.headers['www-authenticate']).toBe('Bearer realm="shop"');
    const refused = await post('/api/v1/auth/logout-all', undefined, { authorization: 'Bearer not-a-token' });
    expectProblem(refused, 401, 'UNAUTHENTICATED');
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="shop", error="invalid_token"');
  });
});

describe('GET /auth/me', () => {
  it("answers the caller's own account, the administrator's too; 401 without a token", async () => {
    const { account, email } = await aCustomer('me');
    const { accessToken } = await loggedIn(email);
    const me = await get('/api/v1/auth/me', accessToken);
    expect({ status: me.statusCode, body: me.json() }).toEqual({ status: 200, body: account });

    const admin = await loggedIn(TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD);
    expect(admin.account).toMatchObject({ id: t.adminId, email: TEST_ADMIN_EMAIL, role: 'ADMIN' });
    expect((await get('/api/v1/auth/me', admin.accessToken)).json()).toEqual(admin.account);

    const anonymous = await get('/api/v1/auth/me');
    expectProblem(anonymous, 401, 'UNAUTHENTICATED');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer\b/);
  });
});

describe("a customer and other users' money, coupons and orders", () => {
  let a: Awaited<ReturnType<typeof aSignedInCustomer>>;
  let b: Awaited<ReturnType<typeof aSignedInCustomer>>;
  let productId: number;
  let bsCoupon: UserCouponView;
  let bsOrder: OrderView;

  beforeAll(async () => {
    a = await aSignedInCustomer('alice');
    b = await aSignedInCustomer('bob');
    productId = (await aProduct(t.api, { price: 1_000, stock: 100 })).id;
    await aCharge(t.api, a.account.id, 50_000);
    await aCharge(t.api, b.account.id, 50_000);
    bsCoupon = await aCouponFor(t.api, b.account.id);
    // B's own order, placed with B's own token.
    bsOrder = await anOrder(b.api, { userId: b.account.id, items: [{ productId, quantity: 1 }] });
  });

  /** Everything of B's that a request of A's could change. */
  const bsState = async () => ({
    balance: await balanceOf(t.api, b.account.id),
    history: await historyOf(t.api, b.account.id),
    coupons: await couponsOf(t.api, b.account.id),
    orders: await ordersOf(t.api, b.account.id),
    stock: await stockOf(t.api, productId),
  });

  it("can't read another user's balance, history, orders or coupons: 403 FORBIDDEN", async () => {
    for (const path of ['balance', 'balance/history', 'orders', 'coupons'])
      expectProblem(await get(`/api/v1/users/${b.account.id}/${path}`, a.tokens.accessToken), 403, 'FORBIDDEN');
    // Their own, yes.
    for (const path of ['balance', 'balance/history', 'orders', 'coupons'])
      expect((await get(`/api/v1/users/${a.account.id}/${path}`, a.tokens.accessToken)).statusCode).toBe(200);
  });

  it("can't charge another user's balance, issue them a coupon or order for them: 403, and nothing changes", async () => {
    const before = await bsState();
    const headers = bearer(a.tokens.accessToken);
    expectProblem(
      await post(`/api/v1/users/${b.account.id}/balance/charge`, { amount: 1_000 }, headers),
      403,
      'FORBIDDEN',
    );
    const { id: couponId } = await aCoupon(t.api);
    expectProblem(await post(`/api/v1/coupons/${couponId}/issue`, { userId: b.account.id }, headers), 403, 'FORBIDDEN');
    expectProblem(
      await post('/api/v1/orders', { userId: b.account.id, items: [{ productId, quantity: 1 }] }, headers),
      403,
      'FORBIDDEN',
    );
    expect(await bsState()).toEqual(before);
  });

  it("can't pay with another user's coupon copy: 409 COUPON_NOT_USABLE, and nothing changes", async () => {
    const before = { b: await bsState(), aBalance: await balanceOf(t.api, a.account.id) };
    const response = await post(
      '/api/v1/orders',
      { userId: a.account.id, items: [{ productId, quantity: 1 }], userCouponId: bsCoupon.userCouponId },
      bearer(a.tokens.accessToken),
    );
    expectProblem(response, 409, 'COUPON_NOT_USABLE');
    expect({ b: await bsState(), aBalance: await balanceOf(t.api, a.account.id) }).toEqual(before);
    expect((await couponsOf(t.api, b.account.id)).find((c) => c.userCouponId === bsCoupon.userCouponId)?.status).toBe(
      'AVAILABLE',
    );
  });

  it("reads another user's order as 404 ORDER_NOT_FOUND, as if it did not exist", async () => {
    const theirs = await get(`/api/v1/orders/${bsOrder.orderId}`, a.tokens.accessToken);
    const nobodys = await get(`/api/v1/orders/${2 ** 40}`, a.tokens.accessToken);
    const theirsBody = expectProblem(theirs, 404, 'ORDER_NOT_FOUND');
    const nobodysBody = expectProblem(nobodys, 404, 'ORDER_NOT_FOUND');
    // Word for word what an order nobody has gets, but for its id.
    const ghost = String(2 ** 40);
    expect({ ...theirsBody, requestId: '' }).toEqual({
      ...nobodysBody,
      requestId: '',
      orderId: bsOrder.orderId,
      detail: String(nobodysBody.detail).replace(ghost, String(bsOrder.orderId)),
    });
    // B and the administrator read it.
    expect((await get(`/api/v1/orders/${bsOrder.orderId}`, b.tokens.accessToken)).statusCode).toBe(200);
    expect((await get(`/api/v1/orders/${bsOrder.orderId}`, t.adminToken)).statusCode).toBe(200);
  });

  it('is refused the admin routes (403), as an anonymous caller is (401), and they change nothing', async () => {
    const productsBefore = (await get('/api/v1/products?limit=100')).json<unknown>();
    const attempts: [string, string, Body | undefined][] = [
      ['POST', '/api/v1/admin/users', { name: 'Sneaky' }],
      ['POST', '/api/v1/admin/products', productBody({ name: 'Sneaky', price: 1 })],
      ['PATCH', `/api/v1/admin/products/${productId}`, { price: 1, stockDelta: -50 }],
      [
        'POST',
        '/api/v1/admin/coupons',
        { name: 'Sneaky', discountType: 'PERCENT', discountValue: 100, totalQuantity: 1, validDays: 1 },
      ],
      ['GET', '/api/v1/admin/data-platform/deliveries', undefined],
    ];
    for (const [method, url, payload] of attempts) {
      const request = { method: method as 'GET', url, ...(payload ? { payload } : {}) };
      expectProblem(await t.app.inject({ ...request, headers: bearer(a.tokens.accessToken) }), 403, 'FORBIDDEN');
      const anonymous = await t.app.inject(request);
      expectProblem(anonymous, 401, 'UNAUTHENTICATED');
      expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer\b/);
    }
    expect((await get('/api/v1/products?limit=100')).json<unknown>()).toEqual(productsBefore);
  });
});

describe('Idempotency-Key after authentication', () => {
  let keySeq = 0;
  const aKey = () => `auth-key-${process.pid}-${++keySeq}`;
  const keyed = (key: string, token?: string) => ({
    'idempotency-key': key,
    ...(token === undefined ? {} : bearer(token)),
  });
  const charge = (userId: number, amount: number, key: string, token?: string) =>
    post(`/api/v1/users/${userId}/balance/charge`, { amount }, keyed(key, token));
  const storedWith = async (key: string) =>
    (await t.database.db.selectFrom('idempotency_keys').select('user_id').where('key', '=', key).execute()).length;

  it("is not a replay for another user: an admin's key and body, sent by a second admin and by the customer, run afresh", async () => {
    const c = await aSignedInCustomer('keyed');
    const secondAdmin = await aSignedInCustomer('second-admin');
    await t.database.db.updateTable('users').set({ role: 'ADMIN' }).where('id', '=', secondAdmin.account.id).execute();
    const secondAdminToken = (await loggedIn(secondAdmin.email)).accessToken;
    const key = aKey();

    const byAdmin = await charge(c.account.id, 1_000, key, t.adminToken);
    expect({ status: byAdmin.statusCode, replayed: byAdmin.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      replayed: undefined,
    });
    const bySecondAdmin = await charge(c.account.id, 1_000, key, secondAdminToken);
    const byCustomer = await charge(c.account.id, 1_000, key, c.tokens.accessToken);
    for (const response of [bySecondAdmin, byCustomer]) {
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['idempotent-replayed']).toBeUndefined();
    }
    expect([byAdmin, bySecondAdmin, byCustomer].map((r) => r.json<{ balance: number }>().balance)).toEqual([
      1_000, 2_000, 3_000,
    ]);
    expect(await balanceOf(t.api, c.account.id)).toBe(3_000);
    expect(await storedWith(key)).toBe(3);

    // Each caller's retry is answered with their own first answer, and only that.
    for (const [token, first] of [
      [t.adminToken, byAdmin],
      [secondAdminToken, bySecondAdmin],
      [c.tokens.accessToken, byCustomer],
    ] as const) {
      const retry = await charge(c.account.id, 1_000, key, token);
      expect({ status: retry.statusCode, replayed: retry.headers['idempotent-replayed'], body: retry.json() }).toEqual({
        status: 200,
        replayed: 'true',
        body: first.json(),
      });
    }
    expect(await balanceOf(t.api, c.account.id)).toBe(3_000);
  });

  it("lets two customers use one key for their own requests: neither collides nor sees the other's answer", async () => {
    const alice = await aSignedInCustomer('key-alice');
    const bob = await aSignedInCustomer('key-bob');
    const { id: productId } = await aProduct(t.api, { price: 500, stock: 10 });
    await aCharge(t.api, alice.account.id, 10_000);
    await aCharge(t.api, bob.account.id, 10_000);
    const key = aKey();
    const order = (who: typeof alice) =>
      post(
        '/api/v1/orders',
        { userId: who.account.id, items: [{ productId, quantity: 1 }] },
        keyed(key, who.tokens.accessToken),
      );
    const alices = await order(alice);
    const bobs = await order(bob);
    for (const [who, response] of [
      [alice, alices],
      [bob, bobs],
    ] as const) {
      expect(response.statusCode, response.body).toBe(201);
      expect(response.headers['idempotent-replayed']).toBeUndefined();
      expect(response.json<OrderView>().userId).toBe(who.account.id);
    }
    expect(alices.json<OrderView>().orderId).not.toBe(bobs.json<OrderView>().orderId);
    expect(await stockOf(t.api, productId)).toBe(8);
  });

  it('an unauthenticated request with a key is 401 and stores nothing', async () => {
    const c = await aSignedInCustomer('anonymous-key');
    const key = aKey();
    const anonymous = await charge(c.account.id, 1_000, key);
    expectProblem(anonymous, 401, 'UNAUTHENTICATED');
    expect(await storedWith(key)).toBe(0);
    expect(await balanceOf(t.api, c.account.id)).toBe(0);
    const own = await charge(c.account.id, 1_000, key, c.tokens.accessToken);
    expect({ status: own.statusCode, replayed: own.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      replayed: undefined,
    });
    expect(await balanceOf(t.api, c.account.id)).toBe(1_000);
  });

  it("a customer's keyed request for another user is 403 and stores nothing: the key then works for their own", async () => {
    const c = await aSignedInCustomer('forbidden-key');
    const victim = await aSignedInCustomer('victim');
    const { id: productId } = await aProduct(t.api, { price: 100, stock: 10 });
    await aCharge(t.api, victim.account.id, 5_000);
    const token = c.tokens.accessToken;

    const chargeKey = aKey();
    expectProblem(await charge(victim.account.id, 1_000, chargeKey, token), 403, 'FORBIDDEN');
    const orderKey = aKey();
    const orderFor = (userId: number) =>
      post('/api/v1/orders', { userId, items: [{ productId, quantity: 1 }] }, keyed(orderKey, token));
    expectProblem(await orderFor(victim.account.id), 403, 'FORBIDDEN');
    expect(await storedWith(chargeKey)).toBe(0);
    expect(await storedWith(orderKey)).toBe(0);
    expect(await balanceOf(t.api, victim.account.id)).toBe(5_000);

    // Stored, the 403 would make these 422 IDEMPOTENCY_KEY_REUSED (another path, another body) or replay it.
    const own = await charge(c.account.id, 1_000, chargeKey, token);
    expect({ status: own.statusCode, replayed: own.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      replayed: undefined,
    });
    const ownOrder = await orderFor(c.account.id);
    expect({ status: ownOrder.statusCode, replayed: ownOrder.headers['idempotent-replayed'] }).toEqual({
      status: 201,
      replayed: undefined,
    });
    expect(await balanceOf(t.api, c.account.id)).toBe(900);
  });
});

describe('the edge: security headers and CORS', () => {
  it("sends helmet's headers on answers and on errors alike", async () => {
    for (const response of [
      await get('/health'),
      await get('/api/v1/products'),
      await get('/api/v1/auth/me'),
      await get('/api/v1/nowhere'),
    ]) {
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'content-security-policy': expect.stringContaining("default-src 'self'"),
        'strict-transport-security': expect.any(String),
      });
      expect(response.headers['x-powered-by']).toBeUndefined();
    }
  });

  const preflight = (app: FastifyInstance, origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/v1/orders',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });

  it('sends no CORS header by default, to a preflight or a request from any origin', async () => {
    const fromBrowser = await t.app.inject({
      method: 'GET',
      url: '/api/v1/products',
      headers: { origin: 'https://shop.example' },
    });
    expect(fromBrowser.statusCode).toBe(200);
    expect(fromBrowser.headers['access-control-allow-origin']).toBeUndefined();
    const asked = await preflight(t.app, 'https://shop.example');
    expect(asked.headers['access-control-allow-origin']).toBeUndefined();
    expect(asked.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('with corsOrigins, allows a preflight from a listed origin and not from another', async () => {
    const app = await buildApp(
      appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: t.database.db } })),
      { corsOrigins: ['https://shop.example'] },
    );
    try {
      const allowed = await preflight(app, 'https://shop.example');
      expect(allowed.statusCode).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example');
      expect(String(allowed.headers['access-control-allow-methods'])).toContain('POST');
      expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');

      const refused = await preflight(app, 'https://evil.example');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();

      const fromShop = await app.inject({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { origin: 'https://shop.example' },
      });
      expectProblem(fromShop, 401, 'UNAUTHENTICATED');
      expect(fromShop.headers['access-control-allow-origin']).toBe('https://shop.example');
      // The browser may show the client why it was refused.
      expect(String(fromShop.headers['access-control-expose-headers'])).toContain('www-authenticate');
    } finally {
      await app.close();
    }
  });
});
