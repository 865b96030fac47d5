import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import { scalar } from '../support/test-database.js';
import {
  type OrderView,
  type ProductView,
  aCharge,
  aChargedUser,
  aCouponFor,
  aProduct,
  aUser,
  anOrder,
  anUpdatedProduct,
  balanceOf,
  couponsOf,
  historyOf,
  ordersOf,
  stockOf,
} from '../support/builders.js';
import { BAD_CURSORS, BAD_LIMITS, bearer, expectProblem, useTestApp } from '../support/test-app.js';

const START = '2026-11-24T03:00:00.000Z';
const clock = new ManualClock(START);
// The clock jumps by days here; the tokens outlive the jumps (a token's own lifetime is not what these test).
const t = useTestApp({ clock, auth: { accessTokenTtlS: 366 * 86_400 } });

const DAY_MS = 86_400_000;
const missing = 987_654_321;

// Each request as `token`: the customer's own, or by default the administrator's (who may act for anyone).
const placeOrder = (payload: unknown, token = t.adminToken) =>
  t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: bearer(token), payload: payload as object });
const getOrder = (orderId: number | string, token = t.adminToken) =>
  t.app.inject({ method: 'GET', url: `/api/v1/orders/${orderId}`, headers: bearer(token) });
const listOrders = (userId: number | string, query = '', token = t.adminToken) =>
  t.app.inject({ method: 'GET', url: `/api/v1/users/${userId}/orders${query}`, headers: bearer(token) });
const charge = (userId: number, amount: number, token = t.adminToken) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/users/${userId}/balance/charge`,
    headers: bearer(token),
    payload: { amount },
  });

/** Rows any order writes, anywhere in this file's schema: a refused order must add none of them. */
async function orderRowCounts() {
  const db = t.database.db;
  return {
    orders: await scalar(db, sql<{ value: number }>`SELECT count(*)::int AS value FROM orders`),
    lines: await scalar(db, sql<{ value: number }>`SELECT count(*)::int AS value FROM order_lines`),
    payments: await scalar(db, sql<{ value: number }>`SELECT count(*)::int AS value FROM payments`),
    outbox: await scalar(db, sql<{ value: number }>`SELECT count(*)::int AS value FROM data_platform_outbox`),
    paymentEntries: await scalar(
      db,
      sql<{ value: number }>`SELECT count(*)::int AS value FROM balance_ledger WHERE type = 'PAYMENT'`,
    ),
  };
}

/** Everything an order could change for this user and these products, read back through the API. */
async function snapshot(userId: number, productIds: readonly number[]) {
  return {
    stocks: await Promise.all(productIds.map((id) => stockOf(t.api, id))),
    balance: await balanceOf(t.api, userId),
    history: await historyOf(t.api, userId),
    coupons: await couponsOf(t.api, userId),
    orders: await ordersOf(t.api, userId),
    rows: await orderRowCounts(),
  };
}

beforeEach(() => {
  clock.set(START);
});

describe('placing a paid order', () => {
  it('answers 201 with the order, takes the stock, debits the balance and records the payment', async () => {
    const keyboard = await aProduct(t.api, { name: 'Keyboard', price: 3_500, stock: 5 });
    const mouse = await aProduct(t.api, { name: 'Mouse', price: 1_200, stock: 10 });
    const pad = await aProduct(t.api, { name: 'Mouse pad', price: 800, stock: 100 });
    const { id: userId } = await aChargedUser(t.api, 50_000);

    // Lines in an order other than the products' ids: the answer keeps the request's order.
    const response = await placeOrder(
      {
        userId,
        items: [
          { productId: mouse.id, quantity: 3 },
          { productId: keyboard.id, quantity: 2 },
          { productId: pad.id, quantity: 1 },
        ],
      },
      await t.tokenFor(userId),
    );

    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const order = response.json<OrderView>();
    expect(order).toEqual({
      orderId: expect.any(Number),
      userId,
      status: 'PAID',
      items: [
        { productId: mouse.id, name: 'Mouse', quantity: 3, unitPrice: 1_200, amount: 3_600, cancelledQuantity: 0 },
        {
          productId: keyboard.id,
          name: 'Keyboard',
          quantity: 2,
          unitPrice: 3_500,
          amount: 7_000,
          cancelledQuantity: 0,
        },
        { productId: pad.id, name: 'Mouse pad', quantity: 1, unitPrice: 800, amount: 800, cancelledQuantity: 0 },
      ],
      totalAmount: 11_400,
      discountAmount: 0,
      paidAmount: 11_400,
      refundedAmount: 0,
      userCouponId: null,
      createdAt: START,
      cancelledAt: null,
    });
    expect(Number.isSafeInteger(order.orderId) && order.orderId > 0).toBe(true);

    expect([await stockOf(t.api, keyboard.id), await stockOf(t.api, mouse.id), await stockOf(t.api, pad.id)]).toEqual([
      3, 7, 99,
    ]);
    expect(await balanceOf(t.api, userId)).toBe(38_600);
    const history = await historyOf(t.api, userId);
    expect(history).toHaveLength(2);
    expect(history[0]).toEqual({
      id: expect.any(Number),
      type: 'PAYMENT',
      amount: -11_400,
      balanceAfter: 38_600,
      orderId: order.orderId,
      createdAt: START,
    });
    expect(history[1]).toMatchObject({ type: 'CHARGE', amount: 50_000, balanceAfter: 50_000, orderId: null });

    const token = await t.tokenFor(userId);
    const fetched = await getOrder(order.orderId, token);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(order);

    const list = await listOrders(userId, '', token);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({ items: [order], nextCursor: null });
  });

  it('prices every line at the product’s price when ordered, even after the price changes', async () => {
    const product = await aProduct(t.api, { name: 'Lamp', price: 1_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const first = await anOrder(await t.as(userId), { userId, items: [{ productId: product.id, quantity: 2 }] });

    await anUpdatedProduct(t.api, product.id, { price: 1_500 });
    const second = await anOrder(await t.as(userId), { userId, items: [{ productId: product.id, quantity: 2 }] });

    expect(second).toMatchObject({
      items: [{ unitPrice: 1_500, amount: 3_000 }],
      totalAmount: 3_000,
      paidAmount: 3_000,
    });
    expect((await getOrder(first.orderId, await t.tokenFor(userId))).json()).toEqual(first);
    expect(first).toMatchObject({ items: [{ unitPrice: 1_000, amount: 2_000 }], totalAmount: 2_000 });
    expect(await balanceOf(t.api, userId)).toBe(5_000);
    expect(await stockOf(t.api, product.id)).toBe(6);
  });

  it('sells the last unit of a product, leaving its stock at 0', async () => {
    const product = await aProduct(t.api, { price: 500, stock: 3 });
    const { id: userId } = await aChargedUser(t.api, 1_500);
    const order = await anOrder(await t.as(userId), { userId, items: [{ productId: product.id, quantity: 3 }] });
    expect(order).toMatchObject({ totalAmount: 1_500, paidAmount: 1_500 });
    expect(await stockOf(t.api, product.id)).toBe(0);
    expect(await balanceOf(t.api, userId)).toBe(0);
    expect((await historyOf(t.api, userId))[0]).toMatchObject({
      type: 'PAYMENT',
      amount: -1_500,
      balanceAfter: 0,
      orderId: order.orderId,
    });
  });

  it('takes the largest allowed order: 50 lines of 1,000 units', async () => {
    const products: ProductView[] = [];
    for (let i = 0; i < 50; i++) products.push(await aProduct(t.api, { name: `Bolt ${i}`, price: 1, stock: 1_000 }));
    const { id: userId } = await aChargedUser(t.api, 50_000);

    const order = await anOrder(await t.as(userId), {
      userId,
      items: products.map((product) => ({ productId: product.id, quantity: 1_000 })),
    });

    expect(order.items).toHaveLength(50);
    expect(order.items.map((line) => line.productId)).toEqual(products.map((product) => product.id));
    expect(order).toMatchObject({ totalAmount: 50_000, paidAmount: 50_000 });
    expect(await balanceOf(t.api, userId)).toBe(0);
    expect(await stockOf(t.api, products[0]!.id)).toBe(0);
    expect(await stockOf(t.api, products[49]!.id)).toBe(0);
  });

  it('lists a user’s orders newest first, only theirs, and pages them visiting each once', async () => {
    const product = await aProduct(t.api, { price: 100, stock: 1_000 });
    const { id: userId } = await aChargedUser(t.api, 100_000);
    const { id: other } = await aChargedUser(t.api, 10_000);
    const orders: OrderView[] = [];
    for (let quantity = 1; quantity <= 7; quantity++) {
      orders.push(await anOrder(await t.as(userId), { userId, items: [{ productId: product.id, quantity }] }));
      if (quantity === 3)
        await anOrder(await t.as(other), { userId: other, items: [{ productId: product.id, quantity: 1 }] });
      clock.advance(60_000);
    }

    const token = await t.tokenFor(userId);
    const all = await listOrders(userId, '', token);
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ items: [...orders].reverse(), nextCursor: null });

    const seen: OrderView[] = [];
    let pages = 0;
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await listOrders(userId, query, token);
      expect(page.statusCode).toBe(200);
      const body = page.json<{ items: OrderView[]; nextCursor: string | null }>();
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items);
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...orders].reverse());
    expect(seen.map((order) => order.items[0]!.quantity)).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('lists no orders for a user who has none as an empty page', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await listOrders(userId, '', await t.tokenFor(userId));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [], nextCursor: null });
  });
});

describe('orders with a coupon', () => {
  it('takes a FIXED discount off the total', async () => {
    const product = await aProduct(t.api, { price: 2_500, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 1_000 });

    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 2 }],
      userCouponId: copy.userCouponId,
    });

    expect(order).toMatchObject({
      totalAmount: 5_000,
      discountAmount: 1_000,
      paidAmount: 4_000,
      userCouponId: copy.userCouponId,
    });
    expect(await balanceOf(t.api, userId)).toBe(6_000);
    expect((await historyOf(t.api, userId))[0]).toMatchObject({
      type: 'PAYMENT',
      amount: -4_000,
      balanceAfter: 6_000,
      orderId: order.orderId,
    });
  });

  it('caps a FIXED discount at the total: 5,000 off a 3,000 order pays 0 and still writes a PAYMENT of 0', async () => {
    const product = await aProduct(t.api, { price: 1_500, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 1_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 5_000 });

    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 2 }],
      userCouponId: copy.userCouponId,
    });

    expect(order).toMatchObject({
      totalAmount: 3_000,
      discountAmount: 3_000,
      paidAmount: 0,
      userCouponId: copy.userCouponId,
    });
    expect(await balanceOf(t.api, userId)).toBe(1_000);
    expect(await stockOf(t.api, product.id)).toBe(8);
    const history = await historyOf(t.api, userId);
    expect(history).toHaveLength(2);
    expect(history[0]).toEqual({
      id: expect.any(Number),
      type: 'PAYMENT',
      amount: 0,
      balanceAfter: 1_000,
      orderId: order.orderId,
      createdAt: START,
    });
    expect(Object.is(history[0]!.amount, 0)).toBe(true);
  });

  it('pays a fully discounted order from a zero balance', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: userId } = await aUser(t.api);
    const copy = await aCouponFor(t.api, userId, { discountType: 'PERCENT', discountValue: 100 });

    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 3 }],
      userCouponId: copy.userCouponId,
    });

    expect(order).toMatchObject({ totalAmount: 3_000, discountAmount: 3_000, paidAmount: 0 });
    expect(await balanceOf(t.api, userId)).toBe(0);
    expect((await historyOf(t.api, userId))[0]).toMatchObject({
      type: 'PAYMENT',
      amount: 0,
      balanceAfter: 0,
      orderId: order.orderId,
    });
  });

  it.each([
    [15, 9_999, 1_499],
    [10, 999, 99],
    [33, 100, 33],
    [1, 99, 0],
    [50, 10_001, 5_000],
  ])('takes %i%% off %i rounded down: %i', async (percent, total, discount) => {
    const product = await aProduct(t.api, { price: total, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, total);
    const copy = await aCouponFor(t.api, userId, { discountType: 'PERCENT', discountValue: percent });

    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 1 }],
      userCouponId: copy.userCouponId,
    });

    expect(order).toMatchObject({ totalAmount: total, discountAmount: discount, paidAmount: total - discount });
    expect(await balanceOf(t.api, userId)).toBe(discount);
  });

  it('marks the copy USED with the order and the time, and refuses it a second time with nothing changed', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 300 });
    clock.advance(90_000);

    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 1 }],
      userCouponId: copy.userCouponId,
    });

    const used = { ...copy, status: 'USED', orderId: order.orderId, usedAt: clock.now().toISOString() };
    expect(await couponsOf(t.api, userId)).toEqual([used]);
    const filtered = await t.app.inject({
      method: 'GET',
      url: `/api/v1/users/${userId}/coupons?status=USED`,
      headers: bearer(await t.tokenFor(userId)),
    });
    expect(filtered.json()).toEqual({ items: [used], nextCursor: null });
    // Still USED, not EXPIRED, after it would have expired.
    clock.set(copy.expiresAt);
    expect(await couponsOf(t.api, userId)).toEqual([used]);
    clock.set(new Date(Date.parse(START) + 120_000));

    const before = await snapshot(userId, [product.id]);
    const body = expectProblem(
      await placeOrder(
        { userId, items: [{ productId: product.id, quantity: 1 }], userCouponId: copy.userCouponId },
        await t.tokenFor(userId),
      ),
      409,
      'COUPON_NOT_USABLE',
    );
    expect(body).toMatchObject({ userCouponId: copy.userCouponId });
    expect(await snapshot(userId, [product.id])).toEqual(before);
  });

  it('uses a copy until the instant before it expires, and refuses it from expiresAt on', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: early } = await aChargedUser(t.api, 5_000);
    const { id: late } = await aChargedUser(t.api, 5_000);
    const campaign = { discountType: 'FIXED', discountValue: 200, validDays: 1 } as const;
    const earlyCopy = await aCouponFor(t.api, early, campaign);
    const lateCopy = await aCouponFor(t.api, late, campaign);
    expect(lateCopy.expiresAt).toBe(new Date(Date.parse(START) + DAY_MS).toISOString());

    clock.set(new Date(Date.parse(earlyCopy.expiresAt) - 1));
    const order = await anOrder(await t.as(early), {
      userId: early,
      items: [{ productId: product.id, quantity: 1 }],
      userCouponId: earlyCopy.userCouponId,
    });
    expect(order).toMatchObject({ discountAmount: 200, paidAmount: 800 });

    clock.set(lateCopy.expiresAt);
    const before = await snapshot(late, [product.id]);
    expect(before.coupons).toEqual([{ ...lateCopy, status: 'EXPIRED' }]);
    const body = expectProblem(
      await placeOrder(
        {
          userId: late,
          items: [{ productId: product.id, quantity: 1 }],
          userCouponId: lateCopy.userCouponId,
        },
        await t.tokenFor(late),
      ),
      409,
      'COUPON_NOT_USABLE',
    );
    expect(body).toMatchObject({ userCouponId: lateCopy.userCouponId });
    expect(await snapshot(late, [product.id])).toEqual(before);
  });

  it('refuses another user’s copy with 409 COUPON_NOT_USABLE and leaves both users as they were', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: holder } = await aChargedUser(t.api, 5_000);
    const { id: thief } = await aChargedUser(t.api, 5_000);
    const copy = await aCouponFor(t.api, holder, { discountType: 'FIXED', discountValue: 500 });

    const holderBefore = await snapshot(holder, [product.id]);
    const thiefBefore = await snapshot(thief, [product.id]);
    const body = expectProblem(
      await placeOrder(
        {
          userId: thief,
          items: [{ productId: product.id, quantity: 1 }],
          userCouponId: copy.userCouponId,
        },
        await t.tokenFor(thief),
      ),
      409,
      'COUPON_NOT_USABLE',
    );
    expect(body).toMatchObject({ userCouponId: copy.userCouponId });
    expect(await snapshot(thief, [product.id])).toEqual(thiefBefore);
    expect(await snapshot(holder, [product.id])).toEqual(holderBefore);
    expect(holderBefore.coupons).toEqual([copy]);

    // The holder can still use it.
    expect(
      (
        await anOrder(await t.as(holder), {
          userId: holder,
          items: [{ productId: product.id, quantity: 1 }],
          userCouponId: copy.userCouponId,
        })
      ).paidAmount,
    ).toBe(500);
  });

  it('refuses an unknown userCouponId with 409 COUPON_NOT_USABLE', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 5_000);
    const before = await snapshot(userId, [product.id]);
    const body = expectProblem(
      await placeOrder(
        { userId, items: [{ productId: product.id, quantity: 1 }], userCouponId: missing },
        await t.tokenFor(userId),
      ),
      409,
      'COUPON_NOT_USABLE',
    );
    expect(body).toMatchObject({ userCouponId: missing });
    expect(await snapshot(userId, [product.id])).toEqual(before);
  });

  it('lets exactly one of 5 concurrent orders use the same copy', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 100 });
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 1_000 });
    const token = await t.tokenFor(userId);

    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        placeOrder({ userId, items: [{ productId: product.id, quantity: 2 }], userCouponId: copy.userCouponId }, token),
      ),
    );

    const paid = responses.filter((response) => response.statusCode === 201);
    expect(paid).toHaveLength(1);
    for (const response of responses.filter((r) => r.statusCode !== 201))
      expectProblem(response, 409, 'COUPON_NOT_USABLE');
    const order = paid[0]!.json<OrderView>();
    expect(order).toMatchObject({
      totalAmount: 2_000,
      discountAmount: 1_000,
      paidAmount: 1_000,
      userCouponId: copy.userCouponId,
    });
    expect(await stockOf(t.api, product.id)).toBe(98);
    expect(await balanceOf(t.api, userId)).toBe(9_000);
    expect(await couponsOf(t.api, userId)).toEqual([
      { ...copy, status: 'USED', orderId: order.orderId, usedAt: START },
    ]);
    expect(await ordersOf(t.api, userId)).toEqual([order]);
  });
});

describe('a refused order changes nothing', () => {
  it('answers 404 USER_NOT_FOUND for an unknown user, and takes no stock', async () => {
    const first = await aProduct(t.api, { price: 1_000, stock: 10 });
    const second = await aProduct(t.api, { price: 2_000, stock: 10 });
    const rows = await orderRowCounts();

    const body = expectProblem(
      await placeOrder({
        userId: missing,
        items: [
          { productId: first.id, quantity: 1 },
          { productId: second.id, quantity: 1 },
        ],
      }),
      404,
      'USER_NOT_FOUND',
    );
    expect(body).toMatchObject({ userId: missing });
    expect([await stockOf(t.api, first.id), await stockOf(t.api, second.id)]).toEqual([10, 10]);
    expect(await orderRowCounts()).toEqual(rows);
  });

  it('answers 404 PRODUCT_NOT_FOUND when one of several lines names an unknown product', async () => {
    const first = await aProduct(t.api, { price: 1_000, stock: 10 });
    const third = await aProduct(t.api, { price: 500, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 50_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 100 });
    const before = await snapshot(userId, [first.id, third.id]);

    const body = expectProblem(
      await placeOrder(
        {
          userId,
          items: [
            { productId: first.id, quantity: 2 },
            { productId: missing, quantity: 1 },
            { productId: third.id, quantity: 3 },
          ],
          userCouponId: copy.userCouponId,
        },
        await t.tokenFor(userId),
      ),
      404,
      'PRODUCT_NOT_FOUND',
    );
    expect(body).toMatchObject({ productId: missing });
    expect(await snapshot(userId, [first.id, third.id])).toEqual(before);
    expect(before.coupons).toEqual([copy]);
  });

  it('answers 409 INSUFFICIENT_STOCK with the facts when the second line is short, leaving the first line’s stock', async () => {
    const plenty = await aProduct(t.api, { price: 1_000, stock: 10 });
    const scarce = await aProduct(t.api, { price: 1_000, stock: 2 });
    const { id: userId } = await aChargedUser(t.api, 50_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'PERCENT', discountValue: 10 });
    const before = await snapshot(userId, [plenty.id, scarce.id]);

    const body = expectProblem(
      await placeOrder(
        {
          userId,
          items: [
            { productId: plenty.id, quantity: 5 },
            { productId: scarce.id, quantity: 3 },
          ],
          userCouponId: copy.userCouponId,
        },
        await t.tokenFor(userId),
      ),
      409,
      'INSUFFICIENT_STOCK',
    );
    expect(body).toMatchObject({ productId: scarce.id, requested: 3, available: 2 });
    expect(await snapshot(userId, [plenty.id, scarce.id])).toEqual(before);
    expect(before.stocks).toEqual([10, 2]);
  });

  it('answers 409 INSUFFICIENT_BALANCE with required and available, and uses neither stock nor coupon', async () => {
    const first = await aProduct(t.api, { price: 3_000, stock: 10 });
    const second = await aProduct(t.api, { price: 2_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 4_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 500 });
    const before = await snapshot(userId, [first.id, second.id]);

    const body = expectProblem(
      await placeOrder(
        {
          userId,
          items: [
            { productId: first.id, quantity: 1 },
            { productId: second.id, quantity: 1 },
          ],
          userCouponId: copy.userCouponId,
        },
        await t.tokenFor(userId),
      ),
      409,
      'INSUFFICIENT_BALANCE',
    );
    expect(body).toMatchObject({ required: 4_500, available: 4_000 });
    expect(await snapshot(userId, [first.id, second.id])).toEqual(before);
    expect(before.coupons).toEqual([copy]);

    // One won more and it goes through, with the coupon.
    await aCharge(t.api, userId, 500);
    const order = await anOrder(await t.as(userId), {
      userId,
      items: [
        { productId: first.id, quantity: 1 },
        { productId: second.id, quantity: 1 },
      ],
      userCouponId: copy.userCouponId,
    });
    expect(order.paidAmount).toBe(4_500);
    expect(await balanceOf(t.api, userId)).toBe(0);
  });

  it('answers 409 INSUFFICIENT_BALANCE for a balance one won short', async () => {
    const product = await aProduct(t.api, { price: 1_001, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 1_000);
    const before = await snapshot(userId, [product.id]);
    const body = expectProblem(
      await placeOrder({ userId, items: [{ productId: product.id, quantity: 1 }] }, await t.tokenFor(userId)),
      409,
      'INSUFFICIENT_BALANCE',
    );
    expect(body).toMatchObject({ required: 1_001, available: 1_000 });
    expect(await snapshot(userId, [product.id])).toEqual(before);
  });
});

describe('which error wins when several hold', () => {
  it('answers USER_NOT_FOUND ahead of PRODUCT_NOT_FOUND', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    expectProblem(
      await placeOrder({
        userId: missing,
        items: [
          { productId: product.id, quantity: 1 },
          { productId: missing, quantity: 1 },
        ],
      }),
      404,
      'USER_NOT_FOUND',
    );
    expect(await stockOf(t.api, product.id)).toBe(10);
  });

  it('answers PRODUCT_NOT_FOUND ahead of INSUFFICIENT_STOCK on an earlier line', async () => {
    const scarce = await aProduct(t.api, { price: 1_000, stock: 1 });
    const { id: userId } = await aChargedUser(t.api, 50_000);
    const before = await snapshot(userId, [scarce.id]);
    const body = expectProblem(
      await placeOrder(
        {
          userId,
          items: [
            { productId: scarce.id, quantity: 5 },
            { productId: missing, quantity: 1 },
          ],
        },
        await t.tokenFor(userId),
      ),
      404,
      'PRODUCT_NOT_FOUND',
    );
    expect(body).toMatchObject({ productId: missing });
    expect(await snapshot(userId, [scarce.id])).toEqual(before);
  });

  it('answers INSUFFICIENT_STOCK ahead of COUPON_NOT_USABLE', async () => {
    const scarce = await aProduct(t.api, { price: 1_000, stock: 1 });
    const { id: userId } = await aChargedUser(t.api, 50_000);
    const before = await snapshot(userId, [scarce.id]);
    expectProblem(
      await placeOrder(
        { userId, items: [{ productId: scarce.id, quantity: 2 }], userCouponId: missing },
        await t.tokenFor(userId),
      ),
      409,
      'INSUFFICIENT_STOCK',
    );
    expect(await snapshot(userId, [scarce.id])).toEqual(before);
  });

  it('answers COUPON_NOT_USABLE ahead of INSUFFICIENT_BALANCE', async () => {
    const product = await aProduct(t.api, { price: 10_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 100);
    const { id: other } = await aUser(t.api);
    const othersCopy = await aCouponFor(t.api, other, { discountType: 'FIXED', discountValue: 100 });
    const before = await snapshot(userId, [product.id]);
    expectProblem(
      await placeOrder(
        {
          userId,
          items: [{ productId: product.id, quantity: 1 }],
          userCouponId: othersCopy.userCouponId,
        },
        await t.tokenFor(userId),
      ),
      409,
      'COUPON_NOT_USABLE',
    );
    expect(await snapshot(userId, [product.id])).toEqual(before);
  });

  it('judges the balance after the discount: a coupon that makes the order affordable lets it through', async () => {
    const product = await aProduct(t.api, { price: 10_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 9_000);
    const copy = await aCouponFor(t.api, userId, { discountType: 'FIXED', discountValue: 1_000 });
    const order = await anOrder(await t.as(userId), {
      userId,
      items: [{ productId: product.id, quantity: 1 }],
      userCouponId: copy.userCouponId,
    });
    expect(order).toMatchObject({ totalAmount: 10_000, discountAmount: 1_000, paidAmount: 9_000 });
    expect(await balanceOf(t.api, userId)).toBe(0);
  });
});

describe('bad input on the order routes', () => {
  const manyLines = Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 }));

  it.each([
    ['items is empty', (p: number, u: number) => ({ userId: u, items: [] }), 'items'],
    ['there are 51 lines', (_p: number, u: number) => ({ userId: u, items: manyLines }), 'items'],
    ['items is missing', (_p: number, u: number) => ({ userId: u }), 'items'],
    ['items is not an array', (p: number, u: number) => ({ userId: u, items: { productId: p, quantity: 1 } }), 'items'],
    [
      'a quantity is 0',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 0 }] }),
      'items.0.quantity',
    ],
    [
      'a quantity is 1001',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1_001 }] }),
      'items.0.quantity',
    ],
    [
      'a quantity is 1.5',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1.5 }] }),
      'items.0.quantity',
    ],
    [
      'a quantity is a string',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: '2' }] }),
      'items.0.quantity',
    ],
    [
      'a quantity is negative',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: -1 }] }),
      'items.0.quantity',
    ],
    ['a quantity is missing', (p: number, u: number) => ({ userId: u, items: [{ productId: p }] }), 'items.0.quantity'],
    [
      'a product appears twice',
      (p: number, u: number) => ({
        userId: u,
        items: [
          { productId: p, quantity: 1 },
          { productId: p, quantity: 2 },
        ],
      }),
      'items.1.productId',
    ],
    [
      'a productId is 0',
      (_p: number, u: number) => ({ userId: u, items: [{ productId: 0, quantity: 1 }] }),
      'items.0.productId',
    ],
    [
      'a productId is a string',
      (p: number, u: number) => ({ userId: u, items: [{ productId: String(p), quantity: 1 }] }),
      'items.0.productId',
    ],
    [
      'a line has an unknown field',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1, price: 1 }] }),
      'items.0.price',
    ],
    ['userId is missing', (p: number) => ({ items: [{ productId: p, quantity: 1 }] }), 'userId'],
    ['userId is 0', (p: number) => ({ userId: 0, items: [{ productId: p, quantity: 1 }] }), 'userId'],
    [
      'userId is beyond 2^53',
      (p: number) => ({ userId: 9_007_199_254_740_992, items: [{ productId: p, quantity: 1 }] }),
      'userId',
    ],
    [
      'there is an unknown field',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1 }], note: 'gift' }),
      'note',
    ],
    [
      'userCouponId is 0',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1 }], userCouponId: 0 }),
      'userCouponId',
    ],
    [
      'userCouponId is null',
      (p: number, u: number) => ({ userId: u, items: [{ productId: p, quantity: 1 }], userCouponId: null }),
      'userCouponId',
    ],
    ['the body is an array', (p: number, u: number) => [{ userId: u, items: [{ productId: p, quantity: 1 }] }], ''],
  ])('answers 400 INVALID_REQUEST when %s, naming the path, and changes nothing', async (_label, build, path) => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const before = await snapshot(userId, [product.id]);
    const body = expectProblem(
      await placeOrder(build(product.id, userId), await t.tokenFor(userId)),
      400,
      'INVALID_REQUEST',
    );
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect(await snapshot(userId, [product.id])).toEqual(before);
  });

  it('answers 400 for a malformed JSON body, with the body as the path', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { ...bearer(t.adminToken), 'content-type': 'application/json' },
      payload: '{"userId": 1, "items": [',
    });
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([{ path: '', message: expect.any(String) }]);
  });

  it.each(['abc', '0', '-1', '1.5', '01', '9007199254740992', '1e3'])('answers 400 for the path id %s', async (id) => {
    const order = expectProblem(await getOrder(id), 400, 'INVALID_REQUEST');
    expect(order.errors).toEqual([{ path: 'orderId', message: expect.any(String) }]);
    const list = expectProblem(await listOrders(id), 400, 'INVALID_REQUEST');
    expect(list.errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
  });

  it('answers 404 ORDER_NOT_FOUND for a well-formed order id that does not exist', async () => {
    expect(expectProblem(await getOrder(missing), 404, 'ORDER_NOT_FOUND')).toMatchObject({ orderId: missing });
  });

  it('answers 404 USER_NOT_FOUND for the orders of a user who does not exist', async () => {
    expect(expectProblem(await listOrders(missing), 404, 'USER_NOT_FOUND')).toMatchObject({ userId: missing });
    expectProblem(await listOrders(missing, '?limit=5'), 404, 'USER_NOT_FOUND');
  });

  it.each(BAD_LIMITS)('answers 400 for limit=%s', async (limit) => {
    const { id: userId } = await aUser(t.api);
    const response = await listOrders(userId, `?limit=${limit}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'limit', message: expect.any(String) },
    ]);
  });

  it.each(BAD_CURSORS)('answers 400 for a cursor that is %s', async (_label, cursor) => {
    const { id: userId } = await aUser(t.api);
    const response = await listOrders(userId, `?cursor=${cursor}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'cursor', message: expect.any(String) },
    ]);
  });
});

describe('concurrent orders over HTTP', () => {
  it('sells a stock of 10 to exactly 10 of 30 users ordering at once', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 10 });
    const users: number[] = [];
    for (let i = 0; i < 30; i++) users.push((await aChargedUser(t.api, 5_000, { name: `Rush ${i}` })).id);
    const tokens = await Promise.all(users.map((userId) => t.tokenFor(userId)));

    const responses = await Promise.all(
      users.map((userId, i) => placeOrder({ userId, items: [{ productId: product.id, quantity: 1 }] }, tokens[i])),
    );

    const paid = responses.filter((response) => response.statusCode === 201);
    const refused = responses.filter((response) => response.statusCode !== 201);
    expect(paid).toHaveLength(10);
    expect(refused).toHaveLength(20);
    for (const response of refused) {
      expect(expectProblem(response, 409, 'INSUFFICIENT_STOCK')).toMatchObject({
        productId: product.id,
        requested: 1,
        available: 0,
      });
    }
    expect(await stockOf(t.api, product.id)).toBe(0);

    const winners = new Set(paid.map((response) => response.json<OrderView>().userId));
    expect(winners.size).toBe(10);
    for (const userId of users) {
      const won = winners.has(userId);
      expect(await balanceOf(t.api, userId)).toBe(won ? 4_000 : 5_000);
      expect(await ordersOf(t.api, userId)).toHaveLength(won ? 1 : 0);
      expect((await historyOf(t.api, userId))[0]).toMatchObject(
        won ? { type: 'PAYMENT', amount: -1_000, balanceAfter: 4_000 } : { type: 'CHARGE' },
      );
    }
  });

  it('lets exactly 3 of 10 concurrent orders through for a balance that pays for 3', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 100 });
    const { id: userId } = await aChargedUser(t.api, 3_000);
    const token = await t.tokenFor(userId);

    const responses = await Promise.all(
      Array.from({ length: 10 }, () => placeOrder({ userId, items: [{ productId: product.id, quantity: 1 }] }, token)),
    );

    const paid = responses.filter((response) => response.statusCode === 201);
    expect(paid).toHaveLength(3);
    for (const response of responses.filter((r) => r.statusCode !== 201)) {
      expect(expectProblem(response, 409, 'INSUFFICIENT_BALANCE')).toMatchObject({ required: 1_000, available: 0 });
    }
    expect(await balanceOf(t.api, userId)).toBe(0);
    expect(await stockOf(t.api, product.id)).toBe(97);
    const history = await historyOf(t.api, userId);
    expect(history).toHaveLength(4);
    expect(history[0]!.balanceAfter).toBe(0);
    expect(history.map((entry) => entry.balanceAfter)).toEqual([0, 1_000, 2_000, 3_000]);
    const byId = (a: number, b: number) => a - b;
    expect(
      history
        .slice(0, 3)
        .map((entry) => entry.orderId!)
        .sort(byId),
    ).toEqual(paid.map((response) => response.json<OrderView>().orderId).sort(byId));
    expect(await ordersOf(t.api, userId)).toHaveLength(3);
  });

  it('serialises orders and charges on one user: the history adds up to the balance', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 100 });
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);

    const responses = await Promise.all([
      ...Array.from({ length: 10 }, () =>
        placeOrder({ userId, items: [{ productId: product.id, quantity: 1 }] }, token),
      ),
      ...Array.from({ length: 10 }, () => charge(userId, 700, token)),
    ]);

    const charges = responses.slice(10);
    for (const response of charges) expect(response.statusCode).toBe(200);
    const orders = responses.slice(0, 10);
    const sold = orders.filter((response) => response.statusCode === 201).length;
    for (const response of orders.filter((r) => r.statusCode !== 201))
      expectProblem(response, 409, 'INSUFFICIENT_BALANCE');

    const balance = await balanceOf(t.api, userId);
    expect(balance).toBe(7_000 - sold * 1_000);
    expect(await stockOf(t.api, product.id)).toBe(100 - sold);
    const history = await historyOf(t.api, userId);
    expect(history).toHaveLength(10 + sold);
    expect(history[0]!.balanceAfter).toBe(balance);
    expect(history.reduce((sum, entry) => sum + entry.amount, 0)).toBe(balance);
    // Each entry's balanceAfter follows from the one before it.
    const oldestFirst = [...history].reverse();
    oldestFirst.forEach((entry, i) =>
      expect(entry.balanceAfter).toBe((i === 0 ? 0 : oldestFirst[i - 1]!.balanceAfter) + entry.amount),
    );
  });

  it('does not deadlock when concurrent orders take the same products in opposite orders', async () => {
    const a = await aProduct(t.api, { price: 100, stock: 1_000 });
    const b = await aProduct(t.api, { price: 100, stock: 1_000 });
    const users: number[] = [];
    for (let i = 0; i < 10; i++) users.push((await aChargedUser(t.api, 10_000)).id);
    const tokens = await Promise.all(users.map((userId) => t.tokenFor(userId)));

    const responses = await Promise.all(
      users.map((userId, i) =>
        placeOrder(
          {
            userId,
            items:
              i % 2 === 0
                ? [
                    { productId: a.id, quantity: 1 },
                    { productId: b.id, quantity: 2 },
                  ]
                : [
                    { productId: b.id, quantity: 2 },
                    { productId: a.id, quantity: 1 },
                  ],
          },
          tokens[i],
        ),
      ),
    );

    for (const response of responses) expect(response.statusCode).toBe(201);
    expect([await stockOf(t.api, a.id), await stockOf(t.api, b.id)]).toEqual([990, 980]);
  });
});
