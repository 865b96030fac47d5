import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const actor = SYSTEM;

async function shop({ balance = 100_000 } = {}) {
  const s = inMemoryShop('2026-11-24T03:00:00.000Z');
  const make = seed(s);
  const user = await make.chargedUser(balance);
  const mug = await make.product({ price: 12_000, stock: 5 });
  const beans = await make.product({ price: 28_000, stock: 1 });
  const copy = await make.couponFor(user.id, {
    discountType: 'PERCENT',
    discountValue: 10,
    totalQuantity: 10,
    validDays: 1,
  });
  return { ...s, userId: user.id, mug, beans, copy };
}

/** Everything an order may touch, to prove a refused one touched nothing. */
async function stateOf(s: Awaited<ReturnType<typeof shop>>) {
  return {
    balance: (await s.getBalance.execute({ actor, userId: s.userId })).amount,
    stock: [
      (await s.getProduct.execute({ productId: s.mug.id })).stock,
      (await s.getProduct.execute({ productId: s.beans.id })).stock,
    ],
    ledger: s.store.state.ledger.length,
    orders: s.store.state.orders.size,
    outbox: s.store.state.outbox.length,
    coupon: s.store.state.userCoupons.get(s.copy.id)?.usedAt ?? null,
  };
}

describe('PlaceOrder', () => {
  it('takes stock, uses the coupon, debits the balance and writes the payment and the outbox event', async () => {
    const s = await shop();
    const order = await s.placeOrder.execute({
      actor,
      userId: s.userId,
      items: [
        { productId: s.mug.id, quantity: 2 },
        { productId: s.beans.id, quantity: 1 },
      ],
      userCouponId: s.copy.id,
    });

    expect(order).toMatchObject({
      totalAmount: 52_000,
      discountAmount: 5_200,
      paidAmount: 46_800,
      userCouponId: s.copy.id,
    });
    expect(await stateOf(s)).toEqual({
      balance: 53_200,
      stock: [3, 0],
      ledger: 2,
      orders: 1,
      outbox: 1,
      coupon: s.clock.now(),
    });
    expect(s.store.state.ledger.at(-1)).toMatchObject({
      type: 'PAYMENT',
      amount: -46_800,
      balanceAfter: 53_200,
      orderId: order.id,
    });
    expect(s.store.state.outbox[0]?.event).toMatchObject({
      type: 'ORDER_PAID',
      body: { orderId: order.id, paidAmount: 46_800 },
    });
    expect(s.store.state.userCoupons.get(s.copy.id)?.orderId).toBe(order.id);
  });

  it.each([
    [
      'USER_NOT_FOUND for an unknown user',
      (_s: Awaited<ReturnType<typeof shop>>) => ({ userId: 999, items: [{ productId: 999, quantity: 1 }] }),
    ],
    [
      'PRODUCT_NOT_FOUND before stock is judged',
      (s: Awaited<ReturnType<typeof shop>>) => ({
        userId: s.userId,
        items: [
          { productId: s.beans.id, quantity: 5 },
          { productId: 999, quantity: 1 },
        ],
      }),
    ],
    [
      'INSUFFICIENT_STOCK before the coupon is judged',
      (s: Awaited<ReturnType<typeof shop>>) => ({
        userId: s.userId,
        items: [
          { productId: s.mug.id, quantity: 1 },
          { productId: s.beans.id, quantity: 2 },
        ],
        userCouponId: 999,
      }),
    ],
    [
      'COUPON_NOT_USABLE before the balance is judged',
      (s: Awaited<ReturnType<typeof shop>>) => ({
        userId: s.userId,
        items: [{ productId: s.mug.id, quantity: 5 }],
        userCouponId: 999,
      }),
    ],
    [
      'INSUFFICIENT_BALANCE last',
      (s: Awaited<ReturnType<typeof shop>>) => ({
        userId: s.userId,
        items: [
          { productId: s.mug.id, quantity: 5 },
          { productId: s.beans.id, quantity: 1 },
        ],
      }),
    ],
  ])('answers %s and changes nothing', async (label, input) => {
    const s = await shop({ balance: 50_000 });
    const before = await stateOf(s);
    await expect(s.placeOrder.execute({ actor, ...input(s) })).rejects.toMatchObject({ code: label.split(' ')[0] });
    expect(await stateOf(s)).toEqual(before);
  });

  it('names the short product with what was asked and what is left', async () => {
    const s = await shop();
    await expect(
      s.placeOrder.execute({ actor, userId: s.userId, items: [{ productId: s.beans.id, quantity: 3 }] }),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      facts: { productId: s.beans.id, requested: 3, available: 1 },
    });
  });

  it.each([
    [
      'used',
      async (s: Awaited<ReturnType<typeof shop>>) =>
        void (await seed(s).order(s.userId, [{ productId: s.mug.id, quantity: 1 }], s.copy.id)),
    ],
    ['expired', async (s: Awaited<ReturnType<typeof shop>>) => s.clock.advance(86_400_000)],
  ])('refuses a coupon that is %s', async (_label, spoil) => {
    const s = await shop();
    await spoil(s);
    await expect(
      s.placeOrder.execute({
        actor,
        userId: s.userId,
        items: [{ productId: s.mug.id, quantity: 1 }],
        userCouponId: s.copy.id,
      }),
    ).rejects.toMatchObject({ code: 'COUPON_NOT_USABLE' });
  });

  it("refuses another user's coupon as one that does not exist", async () => {
    const s = await shop();
    const other = await seed(s).chargedUser(100_000);
    await expect(
      s.placeOrder.execute({
        actor,
        userId: other.id,
        items: [{ productId: s.mug.id, quantity: 1 }],
        userCouponId: s.copy.id,
      }),
    ).rejects.toMatchObject({ code: 'COUPON_NOT_USABLE', facts: { reason: 'NOT_FOUND' } });
  });

  it('pays 0 when the coupon covers everything, and still records the payment', async () => {
    const s = await shop({ balance: 0 });
    const copy = await seed(s).couponFor(s.userId, { discountType: 'FIXED', discountValue: 50_000 });
    const order = await s.placeOrder.execute({
      actor,
      userId: s.userId,
      items: [{ productId: s.mug.id, quantity: 1 }],
      userCouponId: copy.id,
    });
    expect({ discount: order.discountAmount, paid: order.paidAmount }).toEqual({ discount: 12_000, paid: 0 });
    expect(s.store.state.ledger.at(-1)).toMatchObject({ type: 'PAYMENT', amount: 0, balanceAfter: 0 });
  });

  it("lists a user's orders newest first and finds one by id", async () => {
    const s = await shop();
    const first = await seed(s).order(s.userId, [{ productId: s.mug.id, quantity: 1 }]);
    const second = await seed(s).order(s.userId, [{ productId: s.mug.id, quantity: 1 }]);
    const page = await s.listUserOrders.execute({ actor, userId: s.userId, page: { limit: 10 } });
    expect(page.items.map((order) => order.id)).toEqual([second.id, first.id]);
    await expect(s.getOrder.execute({ actor, orderId: first.id })).resolves.toEqual(first);
    await expect(s.getOrder.execute({ actor, orderId: 999 })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });
});
