import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import {
  aCharge,
  aChargedUser,
  aCoupon,
  aProduct,
  aUser,
  anUpdatedProduct,
  balanceOf,
  couponsOf,
  historyOf,
  issuedQuantityOf,
  ordersOf,
  stockOf,
} from '../support/builders.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';
import { untilTheDatabaseClockPasses } from '../support/test-database.js';

const START = '2026-11-24T03:00:00.000Z';
const clock = new ManualClock(START);
// The clock jumps by a day here; the tokens outlive the jumps (a token's own lifetime is not what these test).
const t = useTestApp({ clock, auth: { accessTokenTtlS: 366 * 86_400 } });

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

type Payload = Record<string, unknown>;

/** A write as `token`'s user: keys are scoped to the caller, so a retry must come from the same one. */
function post(token: string, url: string, payload: Payload | string, key?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url,
    headers: {
      ...bearer(token),
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

const chargeUrl = (userId: number) => `/api/v1/users/${userId}/balance/charge`;
const issueUrl = (couponId: number) => `/api/v1/coupons/${couponId}/issue`;
const ORDERS_URL = '/api/v1/orders';

const replayed = (response: LightMyRequestResponse) => response.headers['idempotent-replayed'];
let keySeq = 0;
const freshKey = () => `key-${Date.now()}-${++keySeq}`;

/**
 * The three retry-safe writes, each set up on fresh data: where to send, a valid body, a different
 * valid body, a body that fails validation, and a reading of every effect the write has.
 */
interface Scenario {
  /** The customer who makes the write, for themselves. */
  readonly token: string;
  readonly url: string;
  readonly status: number;
  readonly body: Payload;
  /** Another body the same user could send; none for an issue, whose body is only the user. */
  readonly otherBody?: Payload;
  readonly invalidBody: Payload;
  effects(): Promise<unknown>;
}

const scenarios: [string, () => Promise<Scenario>][] = [
  [
    'POST /users/{userId}/balance/charge',
    async () => {
      const { id: userId } = await aUser(t.api);
      return {
        token: await t.tokenFor(userId),
        url: chargeUrl(userId),
        status: 200,
        body: { amount: 1_000 },
        otherBody: { amount: 2_000 },
        invalidBody: { amount: 0 },
        effects: async () => ({ balance: await balanceOf(t.api, userId), history: await historyOf(t.api, userId) }),
      };
    },
  ],
  [
    'POST /coupons/{couponId}/issue',
    async () => {
      const { id: userId } = await aUser(t.api);
      const { id: other } = await aUser(t.api);
      const { id: couponId } = await aCoupon(t.api);
      return {
        token: await t.tokenFor(userId),
        url: issueUrl(couponId),
        status: 201,
        body: { userId },
        invalidBody: { userId, note: 'x' },
        effects: async () => ({
          issued: await issuedQuantityOf(t.api, couponId),
          held: await couponsOf(t.api, userId),
          otherHeld: await couponsOf(t.api, other),
        }),
      };
    },
  ],
  [
    'POST /orders',
    async () => {
      const { id: userId } = await aChargedUser(t.api, 10_000);
      const { id: productId } = await aProduct(t.api, { price: 1_000, stock: 10 });
      return {
        token: await t.tokenFor(userId),
        url: ORDERS_URL,
        status: 201,
        body: { userId, items: [{ productId, quantity: 2 }] },
        otherBody: { userId, items: [{ productId, quantity: 3 }] },
        invalidBody: { userId, items: [] },
        effects: async () => ({
          stock: await stockOf(t.api, productId),
          balance: await balanceOf(t.api, userId),
          history: await historyOf(t.api, userId),
          orders: await ordersOf(t.api, userId),
        }),
      };
    },
  ],
];

beforeEach(() => {
  clock.set(START);
});

describe.each(scenarios)('Idempotency-Key on %s', (_route, setUp) => {
  it('replays the first answer for the same key and body, with Idempotent-Replayed: true, and has the effect once', async () => {
    const s = await setUp();
    const key = freshKey();
    const initial = await s.effects();

    const first = await post(s.token, s.url, s.body, key);
    expect(first.statusCode).toBe(s.status);
    expect(replayed(first)).toBeUndefined();
    const afterFirst = await s.effects();
    expect(afterFirst).not.toEqual(initial);

    const second = await post(s.token, s.url, s.body, key);
    expect(second.statusCode).toBe(s.status);
    expect(replayed(second)).toBe('true');
    expect(second.headers['content-type']).toMatch(/^application\/json/);
    expect(second.json()).toEqual(first.json());

    const third = await post(s.token, s.url, s.body, key);
    expect({ status: third.statusCode, replayed: replayed(third), body: third.json() }).toEqual({
      status: s.status,
      replayed: 'true',
      body: first.json(),
    });
    expect(await s.effects()).toEqual(afterFirst);
  });

  it('keeps no 400: an invalid body under a key, then a valid one under the same key runs', async () => {
    const s = await setUp();
    const key = freshKey();
    const initial = await s.effects();

    expectProblem(await post(s.token, s.url, s.invalidBody, key), 400, 'INVALID_REQUEST');
    expect(await s.effects()).toEqual(initial);

    const valid = await post(s.token, s.url, s.body, key);
    expect(valid.statusCode).toBe(s.status);
    expect(replayed(valid)).toBeUndefined();
    expect(await s.effects()).not.toEqual(initial);
  });

  it.each([
    ['empty', ''],
    ['256 characters long', 'k'.repeat(256)],
    ['not ASCII', 'ключ'],
    ['a control character', 'key\u0001'],
    ['a tab', 'key\tone'],
    ['DEL', 'key\u007f'],
  ])('answers 400 INVALID_REQUEST for a key that is %s, and does nothing', async (_label, key) => {
    const s = await setUp();
    const initial = await s.effects();
    expectProblem(await post(s.token, s.url, s.body, key), 400, 'INVALID_REQUEST');
    expect(await s.effects()).toEqual(initial);
  });

  it('accepts a key of 255 printable ASCII characters, spaces and punctuation included', async () => {
    const s = await setUp();
    const key = `a b~!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}`.padEnd(255, 'z');
    expect(key).toHaveLength(255);
    const first = await post(s.token, s.url, s.body, key);
    expect(first.statusCode).toBe(s.status);
    const second = await post(s.token, s.url, s.body, key);
    expect({ status: second.statusCode, replayed: replayed(second), body: second.json() }).toEqual({
      status: s.status,
      replayed: 'true',
      body: first.json(),
    });
  });
});

describe.each(scenarios.filter(([route]) => !route.includes('/issue')))(
  'Idempotency-Key with another body on %s',
  (_route, setUp) => {
    it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with a different body, and does nothing', async () => {
      const s = await setUp();
      const otherBody = s.otherBody!;
      const key = freshKey();
      const first = await post(s.token, s.url, s.body, key);
      expect(first.statusCode).toBe(s.status);
      const afterFirst = await s.effects();

      const body = expectProblem(await post(s.token, s.url, otherBody, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(body).toMatchObject({ idempotencyKey: key });
      expect(await s.effects()).toEqual(afterFirst);

      // The key still answers its own request.
      const again = await post(s.token, s.url, s.body, key);
      expect({ status: again.statusCode, replayed: replayed(again), body: again.json() }).toEqual({
        status: s.status,
        replayed: 'true',
        body: first.json(),
      });
    });
  },
);

describe('Idempotency-Key: what counts as the same request', () => {
  it('replays an order whose JSON has its keys in another order', async () => {
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const token = await t.tokenFor(userId);
    const { id: a } = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: b } = await aProduct(t.api, { price: 500, stock: 10 });
    const key = freshKey();

    const first = await post(
      token,
      ORDERS_URL,
      `{"userId":${userId},"items":[{"productId":${a},"quantity":1},{"productId":${b},"quantity":2}]}`,
      key,
    );
    expect(first.statusCode).toBe(201);
    const second = await post(
      token,
      ORDERS_URL,
      `{ "items": [ { "quantity": 1, "productId": ${a} }, { "quantity": 2, "productId": ${b} } ],\n  "userId": ${userId} }`,
      key,
    );
    expect({ status: second.statusCode, replayed: replayed(second), body: second.json() }).toEqual({
      status: 201,
      replayed: 'true',
      body: first.json(),
    });
    expect(await ordersOf(t.api, userId)).toHaveLength(1);
    expect([await stockOf(t.api, a), await stockOf(t.api, b)]).toEqual([9, 8]);
    expect(await balanceOf(t.api, userId)).toBe(8_000);
  });

  it('does not treat the order of lines as insignificant: swapped lines are another body', async () => {
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const token = await t.tokenFor(userId);
    const { id: a } = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: b } = await aProduct(t.api, { price: 500, stock: 10 });
    const key = freshKey();
    const lineA = { productId: a, quantity: 1 };
    const lineB = { productId: b, quantity: 2 };

    expect((await post(token, ORDERS_URL, { userId, items: [lineA, lineB] }, key)).statusCode).toBe(201);
    expectProblem(await post(token, ORDERS_URL, { userId, items: [lineB, lineA] }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await ordersOf(t.api, userId)).toHaveLength(1);
  });

  it('replays a charge whose JSON differs only in spacing and number spelling', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();
    const first = await post(token, chargeUrl(userId), '{"amount":1000}', key);
    expect(first.statusCode).toBe(200);
    for (const text of ['{ "amount" : 1000 }', '{"amount":1000.0}', '{"amount":1e3}']) {
      const again = await post(token, chargeUrl(userId), text, key);
      expect({ status: again.statusCode, replayed: replayed(again), body: again.json() }).toEqual({
        status: 200,
        replayed: 'true',
        body: first.json(),
      });
    }
    expect(await balanceOf(t.api, userId)).toBe(1_000);
  });

  it('replays the same route however its path is spelled: a trailing slash, a percent-encoded id', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();
    const first = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
    expect(first.statusCode).toBe(200);
    const encoded = chargeUrl(userId).replace(
      `/users/${userId}/`,
      `/users/${encodeURIComponent(String(userId)).replace(/./g, (c) => `%${c.charCodeAt(0).toString(16)}`)}/`,
    );
    for (const url of [`${chargeUrl(userId)}/`, encoded, `${chargeUrl(userId)}?utm=1`]) {
      const again = await post(token, url, { amount: 1_000 }, key);
      expect({ url, status: again.statusCode, replayed: replayed(again) }).toEqual({
        url,
        status: 200,
        replayed: 'true',
      });
    }
    expect(await balanceOf(t.api, userId)).toBe(1_000);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key on another route, and does nothing there', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const { id: productId } = await aProduct(t.api, { price: 100, stock: 10 });
    const { id: couponId } = await aCoupon(t.api);
    const key = freshKey();
    expect((await post(token, chargeUrl(userId), { amount: 5_000 }, key)).statusCode).toBe(200);

    expectProblem(
      await post(token, ORDERS_URL, { userId, items: [{ productId, quantity: 1 }] }, key),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expectProblem(await post(token, issueUrl(couponId), { userId }, key), 422, 'IDEMPOTENCY_KEY_REUSED');

    expect(await ordersOf(t.api, userId)).toEqual([]);
    expect(await stockOf(t.api, productId)).toBe(10);
    expect(await balanceOf(t.api, userId)).toBe(5_000);
    expect(await couponsOf(t.api, userId)).toEqual([]);
    expect(await issuedQuantityOf(t.api, couponId)).toBe(0);
  });

  it('treats the same key on another coupon’s issue route as another route', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const { id: first } = await aCoupon(t.api);
    const { id: second } = await aCoupon(t.api);
    const key = freshKey();
    expect((await post(token, issueUrl(first), { userId }, key)).statusCode).toBe(201);
    expectProblem(await post(token, issueUrl(second), { userId }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await issuedQuantityOf(t.api, second)).toBe(0);
    expect(await couponsOf(t.api, userId)).toHaveLength(1);
  });

  it('scopes keys per user: two users charging under the same key string are both charged', async () => {
    const { id: alice } = await aUser(t.api);
    const { id: bob } = await aUser(t.api);
    const key = 'shared-key-1';

    const forAlice = await post(await t.tokenFor(alice), chargeUrl(alice), { amount: 1_000 }, key);
    const forBob = await post(await t.tokenFor(bob), chargeUrl(bob), { amount: 1_000 }, key);

    expect(forAlice.json()).toEqual({ userId: alice, balance: 1_000, charged: 1_000 });
    expect(forBob.json()).toEqual({ userId: bob, balance: 1_000, charged: 1_000 });
    expect([replayed(forAlice), replayed(forBob)]).toEqual([undefined, undefined]);
    expect([await balanceOf(t.api, alice), await balanceOf(t.api, bob)]).toEqual([1_000, 1_000]);
  });

  it('scopes keys per user on orders too: the user who orders owns the key', async () => {
    const { id: alice } = await aChargedUser(t.api, 5_000);
    const { id: bob } = await aChargedUser(t.api, 5_000);
    const { id: productId } = await aProduct(t.api, { price: 1_000, stock: 10 });
    const key = 'shared-order-key';

    const order = (userId: number) => ({ userId, items: [{ productId, quantity: 1 }] });
    const forAlice = await post(await t.tokenFor(alice), ORDERS_URL, order(alice), key);
    const forBob = await post(await t.tokenFor(bob), ORDERS_URL, order(bob), key);

    expect([forAlice.statusCode, forBob.statusCode]).toEqual([201, 201]);
    expect(replayed(forBob)).toBeUndefined();
    expect(forBob.json<{ orderId: number }>().orderId).not.toBe(forAlice.json<{ orderId: number }>().orderId);
    expect(await stockOf(t.api, productId)).toBe(8);
    expect([await balanceOf(t.api, alice), await balanceOf(t.api, bob)]).toEqual([4_000, 4_000]);
  });

  it('scopes keys per user on coupon issue: the same key issuing to another user issues to them too', async () => {
    const { id: alice } = await aUser(t.api);
    const { id: bob } = await aUser(t.api);
    const { id: couponId } = await aCoupon(t.api);
    const key = freshKey();

    const forAlice = await post(await t.tokenFor(alice), issueUrl(couponId), { userId: alice }, key);
    const forBob = await post(await t.tokenFor(bob), issueUrl(couponId), { userId: bob }, key);

    expect([forAlice.statusCode, forBob.statusCode]).toEqual([201, 201]);
    expect([replayed(forAlice), replayed(forBob)]).toEqual([undefined, undefined]);
    expect(forBob.json()).toMatchObject({ userId: bob, couponId });
    expect(await issuedQuantityOf(t.api, couponId)).toBe(2);
  });

  it('runs every request without a key, however alike', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    for (let i = 0; i < 3; i++) {
      const response = await post(token, chargeUrl(userId), { amount: 1_000 });
      expect(response.statusCode).toBe(200);
      expect(replayed(response)).toBeUndefined();
    }
    expect(await balanceOf(t.api, userId)).toBe(3_000);
  });
});

describe('Idempotency-Key keeps business errors', () => {
  it('keeps a 409 INSUFFICIENT_STOCK: after a restock the retry still gets the 409 and buys nothing', async () => {
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const token = await t.tokenFor(userId);
    const { id: productId } = await aProduct(t.api, { price: 1_000, stock: 1 });
    const order = { userId, items: [{ productId, quantity: 2 }] };
    const key = freshKey();

    const first = await post(token, ORDERS_URL, order, key);
    expect(expectProblem(first, 409, 'INSUFFICIENT_STOCK')).toMatchObject({ productId, requested: 2, available: 1 });
    expect(replayed(first)).toBeUndefined();

    await anUpdatedProduct(t.api, productId, { stockDelta: 5 });

    const retry = await post(token, ORDERS_URL, order, key);
    expectProblem(retry, 409, 'INSUFFICIENT_STOCK');
    expect(replayed(retry)).toBe('true');
    expect(retry.json()).toEqual(first.json());
    expect(await stockOf(t.api, productId)).toBe(6);
    expect(await balanceOf(t.api, userId)).toBe(10_000);
    expect(await ordersOf(t.api, userId)).toEqual([]);

    const unkeyed = await post(token, ORDERS_URL, order);
    expect(unkeyed.statusCode).toBe(201);
    expect(await stockOf(t.api, productId)).toBe(4);
    expect(await balanceOf(t.api, userId)).toBe(8_000);
    expect(await ordersOf(t.api, userId)).toHaveLength(1);
  });

  it('keeps a 409 INSUFFICIENT_BALANCE: a retry after a top-up still gets the 409', async () => {
    const { id: userId } = await aChargedUser(t.api, 500);
    const token = await t.tokenFor(userId);
    const { id: productId } = await aProduct(t.api, { price: 1_000, stock: 10 });
    const order = { userId, items: [{ productId, quantity: 1 }] };
    const key = freshKey();

    const first = await post(token, ORDERS_URL, order, key);
    expect(expectProblem(first, 409, 'INSUFFICIENT_BALANCE')).toMatchObject({ required: 1_000, available: 500 });
    await aCharge(t.api, userId, 5_000);

    const retry = await post(token, ORDERS_URL, order, key);
    expect({ status: retry.statusCode, replayed: replayed(retry), body: retry.json() }).toEqual({
      status: 409,
      replayed: 'true',
      body: first.json(),
    });
    expect(await stockOf(t.api, productId)).toBe(10);
    expect(await balanceOf(t.api, userId)).toBe(5_500);
  });

  it('keeps a 409 COUPON_NOT_ISSUABLE: once the window opens the retry still gets it, a request without the key is issued', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    // The window is judged by the database's clock, which runs true (not this file's): it opens soon after now.
    const issueStartsAt = new Date(Date.now() + 1_500);
    const { id: couponId } = await aCoupon(t.api, { issueStartsAt: issueStartsAt.toISOString() });
    const key = freshKey();

    const first = await post(token, issueUrl(couponId), { userId }, key);
    expectProblem(first, 409, 'COUPON_NOT_ISSUABLE');

    await untilTheDatabaseClockPasses(t.database.db, issueStartsAt);
    const retry = await post(token, issueUrl(couponId), { userId }, key);
    expect({ status: retry.statusCode, replayed: replayed(retry), body: retry.json() }).toEqual({
      status: 409,
      replayed: 'true',
      body: first.json(),
    });
    expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await issuedQuantityOf(t.api, couponId)).toBe(0);

    expect((await post(token, issueUrl(couponId), { userId })).statusCode).toBe(201);
    expect(await issuedQuantityOf(t.api, couponId)).toBe(1);
  });

  it('keeps a 404 USER_NOT_FOUND for a charge', async () => {
    const missing = 987_654_321;
    const key = freshKey();
    // Nobody can sign in as a user who does not exist: the administrator asks.
    const first = await post(t.adminToken, chargeUrl(missing), { amount: 1_000 }, key);
    expectProblem(first, 404, 'USER_NOT_FOUND');
    const retry = await post(t.adminToken, chargeUrl(missing), { amount: 1_000 }, key);
    expect({ status: retry.statusCode, replayed: replayed(retry), body: retry.json() }).toEqual({
      status: 404,
      replayed: 'true',
      body: first.json(),
    });
  });
});

describe('Idempotency-Key under concurrency', () => {
  it('charges once for 20 concurrent identical requests under one key', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(token, chargeUrl(userId), { amount: 1_000 }, key)),
    );

    const ok = responses.filter((response) => response.statusCode === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const response of ok) expect(response.json()).toEqual({ userId, balance: 1_000, charged: 1_000 });
    expect(ok.filter((response) => replayed(response) === undefined)).toHaveLength(1);
    for (const response of responses.filter((r) => r.statusCode !== 200))
      expectProblem(response, 409, 'IDEMPOTENCY_KEY_IN_USE');
    expect(await balanceOf(t.api, userId)).toBe(1_000);
    expect(await historyOf(t.api, userId)).toHaveLength(1);

    const later = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
    expect({ status: later.statusCode, replayed: replayed(later), body: later.json() }).toEqual({
      status: 200,
      replayed: 'true',
      body: { userId, balance: 1_000, charged: 1_000 },
    });
  });

  it('places one order for 20 concurrent identical orders under one key', async () => {
    const { id: userId } = await aChargedUser(t.api, 100_000);
    const token = await t.tokenFor(userId);
    const { id: productId } = await aProduct(t.api, { price: 1_000, stock: 100 });
    const key = freshKey();
    const order = { userId, items: [{ productId, quantity: 3 }] };

    const responses = await Promise.all(Array.from({ length: 20 }, () => post(token, ORDERS_URL, order, key)));

    const created = responses.filter((response) => response.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((response) => response.body)).size).toBe(1);
    for (const response of responses.filter((r) => r.statusCode !== 201))
      expectProblem(response, 409, 'IDEMPOTENCY_KEY_IN_USE');
    expect(await stockOf(t.api, productId)).toBe(97);
    expect(await balanceOf(t.api, userId)).toBe(97_000);
    expect(await ordersOf(t.api, userId)).toHaveLength(1);
  });

  it('has one effect for concurrent requests under one key with two different bodies', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(token, chargeUrl(userId), { amount: i % 2 === 0 ? 1_000 : 2_000 }, key),
      ),
    );

    const balance = await balanceOf(t.api, userId);
    expect([1_000, 2_000]).toContain(balance);
    expect(await historyOf(t.api, userId)).toHaveLength(1);
    const ok = responses.filter((response) => response.statusCode === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const response of ok) expect(response.json()).toEqual({ userId, balance, charged: balance });
    for (const response of responses.filter((r) => r.statusCode !== 200)) {
      if (response.statusCode === 409) expectProblem(response, 409, 'IDEMPOTENCY_KEY_IN_USE');
      else expectProblem(response, 422, 'IDEMPOTENCY_KEY_REUSED');
    }
  });
  it('keeps answering unrelated requests while a keyed rush of issues queues on one campaign', async () => {
    const RUSH = 120;
    const { id: couponId } = await aCoupon(t.api, { totalQuantity: RUSH });
    const users = await Promise.all(Array.from({ length: RUSH }, () => aUser(t.api)));
    const tokens = await Promise.all(users.map((user) => t.tokenFor(user.id)));
    const { id: bystander } = await aUser(t.api);
    const bystanderToken = await t.tokenFor(bystander);

    const rush = Promise.all(
      users.map((user, i) => post(tokens[i]!, issueUrl(couponId), { userId: user.id }, freshKey())),
    );
    // Every pooled connection is taken by the rush by now, most of them queued on the campaign's row lock.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const [read, charge] = await Promise.all([
      t.app.inject({ method: 'GET', url: `/api/v1/users/${bystander}/balance`, headers: bearer(bystanderToken) }),
      post(bystanderToken, chargeUrl(bystander), { amount: 1_000 }, freshKey()),
    ]);
    const waitedMs = performance.now() - started;
    const answers = await rush;

    expect([read.statusCode, charge.statusCode]).toEqual([200, 200]);
    expect(answers.map((answer) => answer.statusCode)).toEqual(users.map(() => 201));
    expect(await issuedQuantityOf(t.api, couponId)).toBe(RUSH);
    expect(waitedMs).toBeLessThan(2_000);
  });
});

describe('Idempotency-Key lifetime', () => {
  it('replays for 24 hours, and runs afresh from 24 h + 1 ms on', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();
    const first = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
    expect(first.json()).toEqual({ userId, balance: 1_000, charged: 1_000 });

    for (const at of [23 * HOUR_MS, DAY_MS - 1, DAY_MS]) {
      clock.set(new Date(Date.parse(START) + at));
      const retry = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
      expect({ status: retry.statusCode, replayed: replayed(retry), body: retry.json() }).toEqual({
        status: 200,
        replayed: 'true',
        body: first.json(),
      });
    }
    expect(await balanceOf(t.api, userId)).toBe(1_000);

    clock.set(new Date(Date.parse(START) + DAY_MS + 1));
    const fresh = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
    expect(fresh.statusCode).toBe(200);
    expect(replayed(fresh)).toBeUndefined();
    expect(fresh.json()).toEqual({ userId, balance: 2_000, charged: 1_000 });
    expect(await balanceOf(t.api, userId)).toBe(2_000);

    // The fresh run is what the key answers from now on.
    const retry = await post(token, chargeUrl(userId), { amount: 1_000 }, key);
    expect({ status: retry.statusCode, replayed: replayed(retry), body: retry.json() }).toEqual({
      status: 200,
      replayed: 'true',
      body: fresh.json(),
    });
    expect(await historyOf(t.api, userId)).toHaveLength(2);
  });

  it('after 24 h a key may be used with another body', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const key = freshKey();
    expect((await post(token, chargeUrl(userId), { amount: 1_000 }, key)).statusCode).toBe(200);
    clock.advance(DAY_MS + 1);
    const other = await post(token, chargeUrl(userId), { amount: 3_000 }, key);
    expect(other.json()).toEqual({ userId, balance: 4_000, charged: 3_000 });
  });
});

describe('Idempotency-Key over a real socket', () => {
  /** Sends raw bytes to the listening app and returns the status and body of the answer. */
  async function raw(request: Buffer): Promise<{ status: number; head: string; body: string }> {
    const address = t.app.server.address() as AddressInfo | null;
    if (!address) await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const text = await new Promise<string>((resolve, reject) => {
      // Written, not ended: a half-closed socket makes Node abort the request; `Connection: close` ends it.
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), head, body };
  }

  function chargeBytes(userId: number, key: Buffer, token: string): Buffer {
    const body = JSON.stringify({ amount: 1_000 });
    return Buffer.concat([
      Buffer.from(
        `POST ${chargeUrl(userId)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n`,
      ),
      Buffer.from(`Authorization: Bearer ${token}\r\n`),
      Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\nIdempotency-Key: `),
      key,
      Buffer.from(`\r\n\r\n${body}`),
    ]);
  }

  it('answers 400 INVALID_REQUEST for a key sent as UTF-8 bytes, and charges nothing', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const response = await raw(chargeBytes(userId, Buffer.from('ключ', 'utf8'), token));
    expect(response.status).toBe(400);
    expect(response.head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(await balanceOf(t.api, userId)).toBe(0);
  });

  it('accepts a printable ASCII key over the socket and replays it', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const first = await raw(chargeBytes(userId, Buffer.from('socket-key'), token));
    const second = await raw(chargeBytes(userId, Buffer.from('socket-key'), token));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.head).toMatch(/idempotent-replayed: true/i);
    expect(JSON.parse(second.body)).toEqual(JSON.parse(first.body));
    expect(await balanceOf(t.api, userId)).toBe(1_000);
  });

  it('refuses a key with a control character with a 400 problem (the HTTP parser stops it), and charges nothing', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const response = await raw(chargeBytes(userId, Buffer.from('key\u0001x'), token));
    expect(response.status).toBe(400);
    expect(response.head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(await balanceOf(t.api, userId)).toBe(0);
  });
});
