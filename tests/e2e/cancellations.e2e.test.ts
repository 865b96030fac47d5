import { describe, expect, it } from 'vitest';
import {
  type OrderView,
  aChargedUser,
  aCouponFor,
  aProduct,
  anOrder,
  balanceOf,
  couponsOf,
  historyOf,
  stockOf,
} from '../support/builders.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

const cancel = (
  orderId: number | string,
  payload?: unknown,
  headers: Record<string, string> = {},
  token = t.adminToken,
) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/orders/${orderId}/cancel`,
    headers: { ...bearer(token), ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

/** A customer who bought 3 mugs and a bag of beans with 10 % off, and their token. */
async function aPaidOrder() {
  const user = await aChargedUser(t.api, 200_000);
  const mug = await aProduct(t.api, { name: 'Mug', price: 12_000, stock: 10 });
  const beans = await aProduct(t.api, { name: 'Beans', price: 28_000, stock: 10 });
  const copy = await aCouponFor(t.api, user.id, { discountType: 'PERCENT', discountValue: 10 });
  const order = await anOrder(t.api, {
    userId: user.id,
    items: [
      { productId: mug.id, quantity: 3 },
      { productId: beans.id, quantity: 1 },
    ],
    userCouponId: copy.userCouponId,
  });
  return { user, mug, beans, copy, order, token: await t.tokenFor(user.id) };
}

async function factsOf({ user, mug, beans }: Awaited<ReturnType<typeof aPaidOrder>>) {
  return {
    balance: await balanceOf(t.api, user.id),
    history: await historyOf(t.api, user.id),
    stock: [await stockOf(t.api, mug.id), await stockOf(t.api, beans.id)],
    coupons: await couponsOf(t.api, user.id),
  };
}

describe('POST /orders/{orderId}/cancel', () => {
  it('cancels part of an order for its customer: the order as it is after, the refund in the history', async () => {
    const paid = await aPaidOrder();

    const response = await cancel(
      paid.order.orderId,
      { items: [{ productId: paid.mug.id, quantity: 1 }] },
      {},
      paid.token,
    );

    expect(response.statusCode, response.body).toBe(200);
    // 12,000 of 64,000 cancelled from 57,600 paid: floor(57,600 · 12,000 / 64,000) = 10,800.
    expect(response.json<OrderView>()).toMatchObject({
      orderId: paid.order.orderId,
      status: 'PARTIALLY_CANCELLED',
      refundedAmount: 10_800,
      cancelledAt: null,
      items: [
        { productId: paid.mug.id, quantity: 3, cancelledQuantity: 1 },
        { productId: paid.beans.id, quantity: 1, cancelledQuantity: 0 },
      ],
    });
    const [refund] = await historyOf(t.api, paid.user.id);
    expect(refund).toMatchObject({ type: 'REFUND', amount: 10_800, orderId: paid.order.orderId });
    expect(await stockOf(t.api, paid.mug.id)).toBe(8);
  });

  it('cancels everything left without items: CANCELLED, paidAmount back in all, the copy AVAILABLE again', async () => {
    const paid = await aPaidOrder();
    await cancel(paid.order.orderId, { items: [{ productId: paid.beans.id, quantity: 1 }] });

    const response = await cancel(paid.order.orderId);

    expect(response.statusCode, response.body).toBe(200);
    const order = response.json<OrderView>();
    expect(order).toMatchObject({ status: 'CANCELLED', refundedAmount: paid.order.paidAmount });
    expect(order.cancelledAt).toEqual(expect.any(String));
    expect(await balanceOf(t.api, paid.user.id)).toBe(200_000);
    expect(await couponsOf(t.api, paid.user.id)).toEqual([
      expect.objectContaining({
        userCouponId: paid.copy.userCouponId,
        status: 'AVAILABLE',
        usedAt: null,
        orderId: null,
      }),
    ]);
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orders/${paid.order.orderId}`,
      headers: bearer(t.adminToken),
    });
    expect(read.json()).toEqual(order);
  });

  it.each([
    ['an empty list', { items: [] }, 'items'],
    ['a zero quantity', { items: [{ productId: 1, quantity: 0 }] }, 'items.0.quantity'],
    ['a negative quantity', { items: [{ productId: 1, quantity: -2 }] }, 'items.0.quantity'],
    [
      'the same product twice',
      {
        items: [
          { productId: 1, quantity: 1 },
          { productId: 1, quantity: 1 },
        ],
      },
      'items.1.productId',
    ],
    ['an unknown field', { reason: 'changed my mind' }, 'reason'],
  ])('refuses %s as 400 and changes nothing', async (_label, payload, path) => {
    const paid = await aPaidOrder();
    const before = await factsOf(paid);

    const problem = expectProblem(await cancel(paid.order.orderId, payload), 400, 'INVALID_REQUEST');

    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(await factsOf(paid)).toEqual(before);
  });

  it('refuses a product not in the order and more than is left as ORDER_NOT_CANCELLABLE, with the facts', async () => {
    const paid = await aPaidOrder();
    const before = await factsOf(paid);

    const notInOrder = expectProblem(
      await cancel(paid.order.orderId, { items: [{ productId: 987_654, quantity: 1 }] }),
      409,
      'ORDER_NOT_CANCELLABLE',
    );
    const tooMany = expectProblem(
      await cancel(paid.order.orderId, { items: [{ productId: paid.mug.id, quantity: 4 }] }),
      409,
      'ORDER_NOT_CANCELLABLE',
    );

    expect(notInOrder).toMatchObject({ productId: 987_654, requested: 1, cancellable: 0 });
    expect(tooMany).toMatchObject({ productId: paid.mug.id, requested: 4, cancellable: 3 });
    expect(await factsOf(paid)).toEqual(before);
  });

  it("answers another customer's order and a missing one as ORDER_NOT_FOUND, and changes nothing", async () => {
    const paid = await aPaidOrder();
    const stranger = await aChargedUser(t.api, 1_000);
    const before = await factsOf(paid);

    expectProblem(
      await cancel(paid.order.orderId, undefined, {}, await t.tokenFor(stranger.id)),
      404,
      'ORDER_NOT_FOUND',
    );
    expectProblem(await cancel(987_654_321), 404, 'ORDER_NOT_FOUND');
    expectProblem(await cancel('abc'), 400, 'INVALID_REQUEST');
    expect(await factsOf(paid)).toEqual(before);
  });

  it('refuses a second full cancellation as ORDER_NOT_CANCELLABLE', async () => {
    const paid = await aPaidOrder();
    expect((await cancel(paid.order.orderId)).statusCode).toBe(200);
    const before = await factsOf(paid);

    expectProblem(await cancel(paid.order.orderId), 409, 'ORDER_NOT_CANCELLABLE');
    expect(await factsOf(paid)).toEqual(before);
  });

  it('replays a keyed cancellation instead of refunding twice', async () => {
    const paid = await aPaidOrder();
    const key = { 'idempotency-key': `cancel-${paid.order.orderId}` };
    const body = { items: [{ productId: paid.mug.id, quantity: 2 }] };

    const first = await cancel(paid.order.orderId, body, key, paid.token);
    const again = await cancel(paid.order.orderId, body, key, paid.token);
    const other = await cancel(
      paid.order.orderId,
      { items: [{ productId: paid.mug.id, quantity: 1 }] },
      key,
      paid.token,
    );

    expect(first.statusCode, first.body).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    const refunds = (await historyOf(t.api, paid.user.id)).filter((entry) => entry.type === 'REFUND');
    expect(refunds).toHaveLength(1);
    expect(await stockOf(t.api, paid.mug.id)).toBe(9);
  });
});
