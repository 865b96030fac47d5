import { createHmac, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT, decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSigningKeyPem, parseSigningKey } from '../../src/adapters/auth/signing-keys.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { appDependencies, createContainer } from '../../src/container.js';
import { OWN_AUDIENCE, OWN_ISSUER } from '../../src/adapters/auth/jose-access-tokens.js';
import type { AuditAction } from '../../src/domain/audit/audit-entry.js';
import { aChargedUser, aCoupon, aProduct, aUser, anOrder, couponBody, productBody } from '../support/builders.js';
import { bearer, useTestApp } from '../support/test-app.js';

/**
 * Every route of the app, read from its own route table, against the contract's access rules
 * (../shared/API.md, "Authentication and authorization"): what each route declares, and what four callers
 * get from it with a request that is otherwise valid, so the status says what access control decided and
 * nothing else. A new route fails the first test until it has a sample request below.
 */

// The app's key is this file's, so it can sign the tokens a forger or a careless client would send.
const signingKey = parseSigningKey(newSigningKeyPem());
const t = useTestApp({ auth: { signingKey } });

type Access = 'PUBLIC' | 'SIGNED_IN' | 'ADMIN';

// ---------- the contract's table, written out (not read from the code under test) ----------

/** The public routes the contract names; the docs are public as a whole (below). */
const PUBLIC_ROUTES = new Set([
  'POST /api/v1/auth/signup',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/logout',
  'GET /api/v1/products',
  'GET /api/v1/products/:productId',
  'GET /api/v1/products/popular',
  'GET /api/v1/coupons/:couponId',
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'GET /.well-known/jwks.json',
]);

const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

/** Public as listed; every /api/v1/admin route is for administrators; everything else needs a token. */
function expectedAccess(route: string): Access {
  const url = route.slice(route.indexOf(' ') + 1);
  if (PUBLIC_ROUTES.has(route) || isDocs(url)) return 'PUBLIC';
  if (url.startsWith('/api/v1/admin/')) return 'ADMIN';
  return 'SIGNED_IN';
}

// ---------- one valid request per route ----------

interface Call {
  readonly url: string;
  readonly payload?: unknown;
  readonly headers?: Record<string, string>;
}

interface Sample {
  /** A valid request; where the route names a user (path or body), it names `userId`. */
  readonly valid: (userId: number) => Call | Promise<Call>;
  /** The status a caller the route admits gets for `valid`. */
  ok: number;
  /** The route names a user in its path or body, so a customer may only name themselves. */
  actsFor?: true;
  /** The request made invalid (400) while still naming `userId`: for the order of 401, 400 and 403. */
  readonly invalid?: (userId: number) => Call;
}

/** Ids and accounts the samples use, made in beforeAll. */
const fixture = {
  customerId: 0,
  otherId: 0,
  adminId: 0,
  productId: 0,
  couponId: 0,
  orderId: 0,
  eventId: '',
  loginEmail: 'matrix-login@tests.invalid',
  loginPassword: 'matrix-password',
};
/** A well-formed user id nobody has. */
const GHOST_ID = 2 ** 40;
let seq = 0;

async function freshRefreshToken(): Promise<string> {
  const login = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: fixture.loginEmail, password: fixture.loginPassword },
  });
  expect(login.statusCode, login.body).toBe(200);
  return login.json<{ refreshToken: string }>().refreshToken;
}

const asset = (url: string): Sample => ({ ok: 200, valid: () => ({ url }) });

const SAMPLES: Record<string, Sample> = {
  'GET /docs': { ok: 200, valid: () => ({ url: '/docs' }) },
  // Swagger UI sends its old page address on to /docs.
  'GET /docs/static/index.html': { ok: 302, valid: () => ({ url: '/docs/static/index.html' }) },
  'GET /docs/static/swagger-initializer.js': asset('/docs/static/swagger-initializer.js'),
  'GET /docs/json': asset('/docs/json'),
  'GET /docs/yaml': asset('/docs/yaml'),
  'GET /docs/static/*': asset('/docs/static/swagger-ui.css'),
  'GET /metrics': asset('/metrics'),
  'GET /health': asset('/health'),
  'GET /ready': asset('/ready'),
  'GET /.well-known/jwks.json': asset('/.well-known/jwks.json'),

  'POST /api/v1/auth/signup': {
    ok: 201,
    valid: () => ({
      url: '/api/v1/auth/signup',
      payload: { email: `matrix-${++seq}@tests.invalid`, password: 'password-1', name: 'Matrix' },
    }),
    invalid: () => ({ url: '/api/v1/auth/signup', payload: { email: 'nope', password: 'short', name: '' } }),
  },
  'POST /api/v1/auth/login': {
    ok: 200,
    valid: () => ({
      url: '/api/v1/auth/login',
      payload: { email: fixture.loginEmail, password: fixture.loginPassword },
    }),
    invalid: () => ({ url: '/api/v1/auth/login', payload: { email: fixture.loginEmail } }),
  },
  'POST /api/v1/auth/refresh': {
    ok: 200,
    valid: async () => ({ url: '/api/v1/auth/refresh', payload: { refreshToken: await freshRefreshToken() } }),
    invalid: () => ({ url: '/api/v1/auth/refresh', payload: { refreshToken: '' } }),
  },
  'POST /api/v1/auth/logout': {
    ok: 204,
    valid: async () => ({ url: '/api/v1/auth/logout', payload: { refreshToken: await freshRefreshToken() } }),
    invalid: () => ({ url: '/api/v1/auth/logout', payload: {} }),
  },
  'POST /api/v1/auth/logout-all': { ok: 204, valid: () => ({ url: '/api/v1/auth/logout-all' }) },
  'GET /api/v1/auth/me': { ok: 200, valid: () => ({ url: '/api/v1/auth/me' }) },

  'GET /api/v1/users/:userId/balance': {
    ok: 200,
    actsFor: true,
    valid: (userId) => ({ url: `/api/v1/users/${userId}/balance` }),
  },
  'POST /api/v1/users/:userId/balance/charge': {
    ok: 200,
    actsFor: true,
    valid: (userId) => ({ url: `/api/v1/users/${userId}/balance/charge`, payload: { amount: 1_000 } }),
    invalid: (userId) => ({ url: `/api/v1/users/${userId}/balance/charge`, payload: { amount: 0 } }),
  },
  'GET /api/v1/users/:userId/balance/history': {
    ok: 200,
    actsFor: true,
    valid: (userId) => ({ url: `/api/v1/users/${userId}/balance/history` }),
    invalid: (userId) => ({ url: `/api/v1/users/${userId}/balance/history?limit=0` }),
  },
  'GET /api/v1/users/:userId/coupons': {
    ok: 200,
    actsFor: true,
    valid: (userId) => ({ url: `/api/v1/users/${userId}/coupons` }),
    invalid: (userId) => ({ url: `/api/v1/users/${userId}/coupons?status=LOST` }),
  },
  'GET /api/v1/users/:userId/orders': {
    ok: 200,
    actsFor: true,
    valid: (userId) => ({ url: `/api/v1/users/${userId}/orders` }),
    invalid: (userId) => ({ url: `/api/v1/users/${userId}/orders?limit=101` }),
  },

  'GET /api/v1/products': { ok: 200, valid: () => ({ url: '/api/v1/products' }) },
  'GET /api/v1/products/popular': { ok: 200, valid: () => ({ url: '/api/v1/products/popular' }) },
  'GET /api/v1/products/:productId': { ok: 200, valid: () => ({ url: `/api/v1/products/${fixture.productId}` }) },
  'GET /api/v1/coupons/:couponId': { ok: 200, valid: () => ({ url: `/api/v1/coupons/${fixture.couponId}` }) },

  'POST /api/v1/coupons/:couponId/issue': {
    ok: 201,
    actsFor: true,
    // A campaign of its own each time: a second copy for one user would be 409, which says nothing here.
    valid: async (userId) => ({ url: `/api/v1/coupons/${(await aCoupon(t.api)).id}/issue`, payload: { userId } }),
    invalid: (userId) => ({ url: `/api/v1/coupons/${fixture.couponId}/issue`, payload: { userId, extra: 1 } }),
  },
  'POST /api/v1/orders': {
    ok: 201,
    actsFor: true,
    valid: (userId) => ({
      url: '/api/v1/orders',
      payload: { userId, items: [{ productId: fixture.productId, quantity: 1 }] },
    }),
    invalid: (userId) => ({ url: '/api/v1/orders', payload: { userId, items: [] } }),
  },
  'GET /api/v1/orders/:orderId': { ok: 200, valid: () => ({ url: `/api/v1/orders/${fixture.orderId}` }) },
  'POST /api/v1/orders/:orderId/cancel': {
    ok: 200,
    // An order of the customer's own each time: cancelling one twice would be 409, which says nothing here.
    valid: async () => {
      const items = [{ productId: fixture.productId, quantity: 1 }];
      const { orderId } = await anOrder(t.api, { userId: fixture.customerId, items });
      return { url: `/api/v1/orders/${orderId}/cancel`, payload: {} };
    },
    invalid: () => ({ url: `/api/v1/orders/${fixture.orderId}/cancel`, payload: { items: [] } }),
  },

  'POST /api/v1/admin/users': {
    ok: 201,
    valid: () => ({ url: '/api/v1/admin/users', payload: { name: 'Made by the matrix' } }),
    invalid: () => ({ url: '/api/v1/admin/users', payload: { name: '' } }),
  },
  'POST /api/v1/admin/products': {
    ok: 201,
    valid: () => ({ url: '/api/v1/admin/products', payload: productBody() }),
    invalid: () => ({ url: '/api/v1/admin/products', payload: productBody({ price: 0 }) }),
  },
  'PATCH /api/v1/admin/products/:productId': {
    ok: 200,
    valid: () => ({ url: `/api/v1/admin/products/${fixture.productId}`, payload: { stockDelta: 1 } }),
    invalid: () => ({ url: `/api/v1/admin/products/${fixture.productId}`, payload: {} }),
  },
  'POST /api/v1/admin/coupons': {
    ok: 201,
    valid: () => ({ url: '/api/v1/admin/coupons', payload: couponBody() }),
    invalid: () => ({ url: '/api/v1/admin/coupons', payload: couponBody({ validDays: 0 }) }),
  },
  'GET /api/v1/admin/data-platform/deliveries': {
    ok: 200,
    valid: () => ({ url: '/api/v1/admin/data-platform/deliveries' }),
    invalid: () => ({ url: '/api/v1/admin/data-platform/deliveries?status=LOST' }),
  },
  'POST /api/v1/admin/data-platform/deliveries/:eventId/retry': {
    ok: 202,
    valid: () => ({ url: `/api/v1/admin/data-platform/deliveries/${fixture.eventId}/retry` }),
    invalid: () => ({ url: '/api/v1/admin/data-platform/deliveries/not-a-uuid/retry' }),
  },
  'GET /api/v1/admin/data-platform/deliveries/:eventId': {
    ok: 200,
    valid: () => ({ url: `/api/v1/admin/data-platform/deliveries/${fixture.eventId}` }),
    invalid: () => ({ url: '/api/v1/admin/data-platform/deliveries/not-a-uuid' }),
  },
  'POST /api/v1/admin/data-platform/deliveries/:eventId/redeliver': {
    ok: 202,
    valid: () => ({ url: `/api/v1/admin/data-platform/deliveries/${fixture.eventId}/redeliver` }),
    invalid: () => ({ url: '/api/v1/admin/data-platform/deliveries/not-a-uuid/redeliver' }),
  },
  'GET /api/v1/admin/audit-log': {
    ok: 200,
    valid: () => ({ url: '/api/v1/admin/audit-log?action=product.update' }),
    invalid: () => ({ url: '/api/v1/admin/audit-log?action=product.delete' }),
  },
};

// ---------- the routes, the callers and the checks ----------

interface Route {
  /** `METHOD /url` as the route table has it: the key of SAMPLES. */
  readonly key: string;
  readonly method: string;
  readonly declared: Access | undefined;
  readonly expected: Access;
  /** The action the route's requests are audited as, where it declares one. */
  readonly audit: AuditAction | undefined;
  readonly sample: Sample | undefined;
}

/** The route table, one entry per method (a route may serve HEAD and GET; HEAD is left out). */
function routes(): Route[] {
  return t.app.routeTable().flatMap(({ method, url, access, audit }) =>
    method
      .split(',')
      .filter((one) => one !== 'HEAD')
      .map((one) => {
        const key = `${one} ${url}`;
        return { key, method: one, declared: access, expected: expectedAccess(key), audit, sample: SAMPLES[key] };
      }),
  );
}

const sampled = () => routes().filter((route): route is Route & { sample: Sample } => route.sample !== undefined);

type Caller = 'anonymous' | 'customer' | 'admin';

async function headersOf(caller: Caller): Promise<Record<string, string>> {
  // Minted per request: a logout-all sample moves the caller's token version on.
  if (caller === 'customer') return bearer(await t.tokenFor(fixture.customerId));
  if (caller === 'admin') return bearer(await t.tokenFor(fixture.adminId, 'ADMIN'));
  return {};
}

function send(route: Route, call: Call, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: route.method as 'GET',
    url: call.url,
    headers: { ...headers, ...call.headers },
    ...(call.payload === undefined ? {} : { payload: call.payload as object }),
  });
}

/** What the response was, for a failure message that names the route. */
const described = (route: Route, who: string, response: LightMyRequestResponse) =>
  `${route.key} (${who}): ${response.statusCode} ${response.body.slice(0, 300)}`;

function problemCode(response: LightMyRequestResponse): string | undefined {
  if (!String(response.headers['content-type']).startsWith('application/problem+json')) return undefined;
  return response.json<{ code?: string }>().code;
}

/** A 401 as the contract gives it: problem+json UNAUTHENTICATED with a Bearer challenge. */
function isUnauthenticated(response: LightMyRequestResponse): boolean {
  return (
    response.statusCode === 401 &&
    problemCode(response) === 'UNAUTHENTICATED' &&
    /^Bearer\b/.test(String(response.headers['www-authenticate'] ?? ''))
  );
}

const isForbidden = (response: LightMyRequestResponse) =>
  response.statusCode === 403 && problemCode(response) === 'FORBIDDEN';

const isInvalid = (response: LightMyRequestResponse) =>
  response.statusCode === 400 && problemCode(response) === 'INVALID_REQUEST';

beforeAll(async () => {
  const customer = await aChargedUser(t.api, 10_000_000, { name: 'Matrix customer' });
  fixture.customerId = customer.id;
  fixture.otherId = (await aChargedUser(t.api, 10_000, { name: 'Someone else' })).id;
  // An administrator of the matrix's own: its logout-all must not end the token the builders use.
  fixture.adminId = (await aUser(t.api, { name: 'Matrix admin' })).id;
  await t.database.db.updateTable('users').set({ role: 'ADMIN' }).where('id', '=', fixture.adminId).execute();
  fixture.productId = (await aProduct(t.api, { price: 100, stock: 1_000_000 })).id;
  fixture.couponId = (await aCoupon(t.api)).id;
  fixture.orderId = (
    await anOrder(t.api, { userId: customer.id, items: [{ productId: fixture.productId, quantity: 1 }] })
  ).orderId;
  const deliveries = await t.app.inject({
    method: 'GET',
    url: '/api/v1/admin/data-platform/deliveries',
    headers: bearer(t.adminToken),
  });
  fixture.eventId = deliveries.json<{ items: { eventId: string }[] }>().items[0]!.eventId;
  const signup = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    payload: { email: fixture.loginEmail, password: fixture.loginPassword, name: 'Matrix login' },
  });
  expect(signup.statusCode, signup.body).toBe(201);
});

describe('the route matrix: every route of the app against the contract', () => {
  it('has a sample request for every route of the route table, and none for a route that is gone', () => {
    const keys = routes().map((route) => route.key);
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.filter((key) => !(key in SAMPLES))).toEqual([]);
    expect(Object.keys(SAMPLES).filter((key) => !keys.includes(key))).toEqual([]);
    // Every route the contract names public is in the table: a typo above can't make the table lenient.
    expect([...PUBLIC_ROUTES].filter((key) => !keys.includes(key))).toEqual([]);
  });

  it('with CORS origins configured, gains only the preflight route, which is outside access control by nature', async () => {
    const withCors = await buildApp(
      appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: t.database.db }, auth: { signingKey } })),
      { corsOrigins: ['https://shop.example'] },
    );
    try {
      const plain = t.app.routeTable();
      const extra = withCors
        .routeTable()
        .filter((route) => !plain.some((one) => one.method === route.method && one.url === route.url));
      expect(extra).toEqual([{ method: 'OPTIONS', url: '*', access: undefined }]);
    } finally {
      await withCors.close();
    }
  });

  it("declares on every route the access the contract gives it (only the docs' plugin declares none)", () => {
    const mismatches = routes()
      .map(({ key, declared, expected }) => ({
        key,
        declared: declared ?? (isDocs(key.slice(key.indexOf(' ') + 1)) ? 'PUBLIC' : 'NOTHING'),
        expected,
      }))
      .filter(({ declared, expected }) => declared !== expected);
    expect(mismatches).toEqual([]);
  });

  it('names a user in the path or body exactly on the routes whose sample acts for a user', async () => {
    const wrong: string[] = [];
    for (const route of sampled()) {
      const call = await route.sample.valid(GHOST_ID);
      const namesUser =
        route.key.includes(':userId') || (call.payload as { userId?: unknown } | undefined)?.userId === GHOST_ID;
      if (namesUser !== (route.sample.actsFor === true)) wrong.push(route.key);
    }
    expect(wrong).toEqual([]);
  });

  it('without a token: 401 UNAUTHENTICATED with WWW-Authenticate: Bearer on every non-public route; public ones answer', async () => {
    const wrong: string[] = [];
    for (const route of sampled()) {
      const response = await send(route, await route.sample.valid(fixture.customerId), {});
      const right = route.expected === 'PUBLIC' ? response.statusCode === route.sample.ok : isUnauthenticated(response);
      if (!right) wrong.push(described(route, 'no token', response));
    }
    expect(wrong).toEqual([]);
  });

  it('a customer acting for themselves gets every public and signed-in route, and 403 FORBIDDEN on every admin route', async () => {
    const wrong: string[] = [];
    for (const route of sampled()) {
      const response = await send(route, await route.sample.valid(fixture.customerId), await headersOf('customer'));
      const right = route.expected === 'ADMIN' ? isForbidden(response) : response.statusCode === route.sample.ok;
      if (!right) wrong.push(described(route, 'customer for self', response));
    }
    expect(wrong).toEqual([]);
  });

  it('a customer acting for another user is 403 FORBIDDEN, whether that user exists or not', async () => {
    const wrong: string[] = [];
    const acting = sampled().filter((route) => route.sample.actsFor);
    expect(acting.length).toBeGreaterThanOrEqual(7);
    for (const route of acting)
      for (const [who, userId] of [
        ['another user', fixture.otherId],
        ['a user nobody has', GHOST_ID],
      ] as const) {
        const response = await send(route, await route.sample.valid(userId), await headersOf('customer'));
        if (!isForbidden(response)) wrong.push(described(route, `customer for ${who}`, response));
      }
    expect(wrong).toEqual([]);
  });

  it('an administrator gets every route, acting for any user', async () => {
    const wrong: string[] = [];
    for (const route of sampled()) {
      const response = await send(route, await route.sample.valid(fixture.customerId), await headersOf('admin'));
      if (response.statusCode !== route.sample.ok) wrong.push(described(route, 'admin for a customer', response));
    }
    expect(wrong).toEqual([]);
  });

  it('401 before 400: an invalid request without a token is 401 on every non-public route (and 400 with one)', async () => {
    const wrong: string[] = [];
    const guarded = sampled().filter((route) => route.expected !== 'PUBLIC');
    for (const route of guarded) {
      const invalid = route.sample.invalid?.(fixture.customerId);
      // Malformed JSON where the route takes a body, the sample's own invalid variant where it has one.
      const calls: [string, Call][] = [
        ...(invalid ? [['invalid', invalid] as [string, Call]] : []),
        ...(route.method === 'POST' || route.method === 'PATCH'
          ? [
              [
                'malformed JSON',
                {
                  url: (await route.sample.valid(fixture.customerId)).url,
                  payload: '{"not json',
                  headers: { 'content-type': 'application/json' },
                },
              ] as [string, Call],
            ]
          : []),
      ];
      for (const [what, call] of calls) {
        const anonymous = await send(route, call, {});
        if (!isUnauthenticated(anonymous)) wrong.push(described(route, `${what}, no token`, anonymous));
        const admin = await send(route, call, await headersOf('admin'));
        if (!isInvalid(admin)) wrong.push(described(route, `${what}, admin`, admin));
      }
    }
    expect(guarded.filter((route) => route.sample.invalid).length).toBeGreaterThanOrEqual(12);
    expect(wrong).toEqual([]);
  });

  it('403 after 400: an invalid request from a customer for another user, or on an admin route, is 400', async () => {
    const wrong: string[] = [];
    const cases = sampled().filter(
      (route) => route.sample.invalid && (route.sample.actsFor || route.expected === 'ADMIN'),
    );
    expect(cases.length).toBeGreaterThanOrEqual(10);
    for (const route of cases)
      for (const userId of route.sample.actsFor ? [fixture.otherId, GHOST_ID] : [fixture.customerId]) {
        const response = await send(route, route.sample.invalid!(userId), await headersOf('customer'));
        if (!isInvalid(response)) wrong.push(described(route, `invalid, customer for ${userId}`, response));
      }
    expect(wrong).toEqual([]);
  });
});

// ---------- every admin action is audited ----------

/** The admin routes that change something: what the contract says each writes one audit entry for. */
const isAdminAction = (route: Route) => route.expected === 'ADMIN' && route.method !== 'GET';

/** The audit entries written after entry `after`, oldest first. */
const entriesAfter = (after: number) =>
  t.database.db.selectFrom('audit_log').selectAll().where('id', '>', after).orderBy('id').execute();

async function lastEntryId(): Promise<number> {
  const row = await t.database.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

describe('the route matrix: the audit log', () => {
  it('declares an audit action on every admin route that changes something, and on no other route', () => {
    const declared = routes().map(({ key, audit }) => [key, audit !== undefined]);
    const expected = routes().map((route) => [route.key, isAdminAction(route)]);
    expect(declared).toEqual(expected);
    expect(routes().filter(isAdminAction).length).toBeGreaterThanOrEqual(6);
  });

  it("writes exactly one entry per admin action, with the route's action, the admin as actor and the request id", async () => {
    const wrong: string[] = [];
    const actions = sampled().filter(isAdminAction);
    expect(actions.length).toBeGreaterThanOrEqual(6);
    for (const route of actions) {
      const call = await route.sample.valid(fixture.customerId);
      const before = await lastEntryId();
      const response = await send(route, call, await headersOf('admin'));
      const written = (await entriesAfter(before)).map((entry) => ({
        action: entry.action,
        actorId: entry.actor_id,
        requestId: entry.request_id,
      }));
      const expected = [{ action: route.audit, actorId: fixture.adminId, requestId: response.headers['x-request-id'] }];
      if (response.statusCode !== route.sample.ok || JSON.stringify(written) !== JSON.stringify(expected))
        wrong.push(`${described(route, 'admin', response)} wrote ${JSON.stringify(written)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('writes no entry for any other route, an administrator calling it or not', async () => {
    const wrong: string[] = [];
    for (const route of sampled().filter((one) => !isAdminAction(one))) {
      const call = await route.sample.valid(fixture.customerId);
      const before = await lastEntryId();
      const response = await send(route, call, await headersOf('admin'));
      const written = await entriesAfter(before);
      if (written.length > 0) wrong.push(`${described(route, 'admin', response)} wrote ${written.length}`);
    }
    expect(wrong).toEqual([]);
  });
});

// ---------- tokens that must not get in ----------

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('the route matrix: tokens that are not valid are 401 on every non-public route', () => {
  const badTokens: [string, () => Promise<string>][] = [];
  let kid = '';
  /** The matrix admin's current token version: the tokens below are the admin's, but for what is wrong. */
  let version = 0;

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: OWN_ISSUER,
      aud: OWN_AUDIENCE,
      sub: String(fixture.adminId),
      role: 'ADMIN',
      ver: version,
      iat: now,
      exp: now + 600,
      jti: randomBytes(8).toString('hex'),
      ...overrides,
    };
  };
  /** Signed with the app's own key: only the claims are wrong. */
  const ownSigned = (overrides: Record<string, unknown> = {}) =>
    new SignJWT(claims(overrides))
      .setProtectedHeader({ alg: signingKey.algorithm, kid, typ: 'JWT' })
      .sign(signingKey.privateKey);

  beforeAll(async () => {
    kid = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>()
      .keys[0]!.kid;
    // Logged out everywhere once, so an older version than the current one exists.
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout-all',
      headers: bearer(await t.tokenFor(fixture.adminId, 'ADMIN')),
    });
    expect(logout.statusCode).toBe(204);
    version = (
      await t.database.db
        .selectFrom('users')
        .select('token_version')
        .where('id', '=', fixture.adminId)
        .executeTakeFirstOrThrow()
    ).token_version;
    // The control: a token built the same way with nothing wrong is accepted (else every case below is moot).
    const control = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(await ownSigned()) });
    expect(control.statusCode, control.body).toBe(200);
  });

  badTokens.push(
    ['garbage', async () => 'not-a-token'],
    ['three garbage segments', async () => 'abc.def.ghi'],
    [
      'signed by a random Ed25519 key under the right kid',
      () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
          .sign(generateKeyPairSync('ed25519').privateKey),
    ],
    ['alg: none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    [
      'HS256 with the public key as its secret',
      async () => {
        const publicPem = createPublicKey(signingKey.privateKey).export({ type: 'spki', format: 'pem' });
        const input = `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${b64(claims())}`;
        return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
      },
    ],
    [
      'a customer token with its role changed to ADMIN',
      async () => {
        // A real customer token, its claims all right but the role, its signature the original.
        const token = await t.tokenFor(fixture.customerId);
        const [header, , signature] = token.split('.');
        const payload = { ...decodeJwt(token), role: 'ADMIN' };
        return `${header}.${b64(payload)}.${signature}`;
      },
    ],
    [
      'expired',
      () => ownSigned({ iat: Math.floor(Date.now() / 1000) - 3_600, exp: Math.floor(Date.now() / 1000) - 60 }),
    ],
    ['not yet valid', () => ownSigned({ nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['for another audience', () => ownSigned({ aud: 'someone-else' })],
    ['from another issuer', () => ownSigned({ iss: 'https://elsewhere.example' })],
    ['for a user nobody has', () => ownSigned({ sub: String(GHOST_ID) })],
    ['of an older token version (before a logout-all)', () => ownSigned({ ver: version - 1 })],
    ['with an unknown role', () => ownSigned({ role: 'ROOT' })],
  );

  it.each(badTokens)('a token %s', async (_label, make) => {
    const token = await make();
    const wrong: string[] = [];
    const guarded = sampled().filter((route) => route.expected !== 'PUBLIC');
    for (const route of guarded) {
      const response = await send(route, await route.sample.valid(fixture.customerId), bearer(token));
      if (!isUnauthenticated(response)) wrong.push(described(route, 'bad token', response));
    }
    expect(guarded.length).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });

  it.each([
    ['a Basic header', (token: string) => `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`],
    ['the token without its scheme', (token: string) => token],
    ['an empty Bearer', () => 'Bearer '],
  ])('an Authorization header with %s', async (_label, header) => {
    const wrong: string[] = [];
    for (const route of sampled().filter((one) => one.expected !== 'PUBLIC')) {
      const call = await route.sample.valid(fixture.customerId);
      const response = await send(route, call, { authorization: header(await t.tokenFor(fixture.adminId, 'ADMIN')) });
      if (!isUnauthenticated(response)) wrong.push(described(route, 'bad header', response));
    }
    expect(wrong).toEqual([]);
  });
});

// ---------- the published contract says the same ----------

describe('the route matrix: the OpenAPI document', () => {
  it('names the bearer scheme, and gives every non-public operation security: [{ bearerAuth: [] }] and no public one', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    }>();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });

    const documented = routes().filter((route) => !isDocs(route.key.split(' ')[1]!) && route.key !== 'GET /metrics');
    const wrong = documented
      .map((route) => {
        const [method, url] = route.key.split(' ') as [string, string];
        const operation = doc.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
        return { route: route.key, expected: route.expected, security: operation ? operation.security : 'missing' };
      })
      .filter(({ expected, security }) =>
        expected === 'PUBLIC' ? security !== undefined : JSON.stringify(security) !== '[{"bearerAuth":[]}]',
      );
    expect(documented.length).toBeGreaterThan(25);
    expect(wrong).toEqual([]);
  });
});
