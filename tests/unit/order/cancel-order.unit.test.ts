import { describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/application/shared/actor.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { MAX_BALANCE } from '../../../src/domain/balance/balance.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed, systemStamp } from '../../support/seed.js';

const actor = SYSTEM;

/** A user who bought 3 mugs (12,000) and 1 bag of beans (28,000) with 10 % off: paid 57,600 of 64,000. */
async function shop() {
  const s = inMemoryShop('2026-11-24T03:00:00.000Z');
  const make = seed(s);
  const user = await make.chargedUser(100_000);
  const mug = await make.product({ price: 12_000, stock: 5 });
  const beans = await make.product({ price: 28_000, stock: 1 });
  const copy = await make.couponFor(user.id, { discountType: 'PERCENT', discountValue: 10 });
  const order = await make.order(
    user.id,
    [
      { productId: mug.id, quantity: 3 },
      { productId: beans.id, quantity: 1 },
    ],
    copy.id,
  );
  return { ...s, userId: user.id, mug, beans, copy, order };
}

type Shop = Awaited<ReturnType<typeof shop>>;

/** Everything a cancellation may touch, to prove a refused one touched nothing. */
async function stateOf(s: Shop) {
  return {
    balance: (await s.getBalance.execute({ actor, userId: s.userId })).amount,
    stock: [
      (await s.getProduct.execute({ productId: s.mug.id })).stock,
      (await s.getProduct.execute({ productId: s.beans.id })).stock,
    ],
    ledger: s.store.state.ledger.length,
    stockAdjustments: s.store.state.stockAdjustments.length,
    outbox: s.store.state.outbox.length,
    status: (await s.getOrder.execute({ actor, orderId: s.order.id })).status,
    copy: s.store.state.userCoupons.get(s.copy.id)?.orderId ?? null,
    sold: [...s.store.state.dailySales.values()],
  };
}

describe('CancelOrder', () => {
  it('cancels part of an order: restock, a REFUND entry for its share of the discount, the event, the ranking', async () => {
    const s = await shop();
    const before = await stateOf(s);

    const order = await s.cancelOrder.execute({
      actor,
      orderId: s.order.id,
      items: [{ productId: s.mug.id, quantity: 1 }],
    });

    // 12,000 of 64,000 cancelled: floor(57,600 · 12,000 / 64,000) = 10,800.
    expect(order).toMatchObject({ status: 'PARTIALLY_CANCELLED', refundedAmount: 10_800, cancelledAt: null });
    expect(order.lineViews.map((line) => line.cancelledQuantity)).toEqual([1, 0]);
    expect(await stateOf(s)).toEqual({
      ...before,
      balance: before.balance + 10_800,
      stock: [before.stock[0]! + 1, before.stock[1]],
      ledger: before.ledger + 1,
      stockAdjustments: before.stockAdjustments + 1,
      outbox: before.outbox + 1,
      status: 'PARTIALLY_CANCELLED',
      sold: [2, 1],
    });
    expect(s.store.state.ledger.at(-1)).toMatchObject({
      type: 'REFUND',
      amount: 10_800,
      balanceAfter: before.balance + 10_800,
      orderId: s.order.id,
    });
    expect(s.store.state.stockAdjustments.at(-1)).toMatchObject({
      productId: s.mug.id,
      delta: 1,
      reason: 'CANCELLATION',
    });
    expect(JSON.stringify(s.store.state.outbox.at(-1))).toContain('"refundAmount":10800');
  });

  it('cancels everything left when no items are given, refunding exactly what was paid and freeing the copy', async () => {
    const s = await shop();
    await s.cancelOrder.execute({ actor, orderId: s.order.id, items: [{ productId: s.mug.id, quantity: 2 }] });
    s.clock.advance(60_000);

    const order = await s.cancelOrder.execute({ actor, orderId: s.order.id });

    expect(order).toMatchObject({ status: 'CANCELLED', refundedAmount: 57_600, cancelledAt: s.clock.now() });
    expect(await stateOf(s)).toMatchObject({ balance: 100_000, stock: [5, 1], copy: null, sold: [0, 0] });
    expect(s.store.state.userCoupons.get(s.copy.id)?.usedAt).toBeNull();
    const refunds = s.store.state.ledger.filter((entry) => entry.type === 'REFUND').map((entry) => entry.amount);
    expect(refunds.reduce((sum, amount) => sum + amount, 0)).toBe(57_600);
  });

  it('lets the freed copy pay for a later order', async () => {
    const s = await shop();
    await s.cancelOrder.execute({ actor, orderId: s.order.id });

    const again = await s.placeOrder.execute({
      actor,
      userId: s.userId,
      items: [{ productId: s.mug.id, quantity: 1 }],
      userCouponId: s.copy.id,
    });

    expect(again).toMatchObject({ discountAmount: 1_200, userCouponId: s.copy.id });
  });

  it.each([
    ['a product not in the order', (_s: Shop) => [{ productId: 999, quantity: 1 }], { productId: 999, cancellable: 0 }],
    ['more than is left', (s: Shop) => [{ productId: s.mug.id, quantity: 4 }], { requested: 4, cancellable: 3 }],
  ])('refuses %s as ORDER_NOT_CANCELLABLE and changes nothing', async (_label, items, facts) => {
    const s = await shop();
    const before = await stateOf(s);

    await expect(s.cancelOrder.execute({ actor, orderId: s.order.id, items: items(s) })).rejects.toMatchObject({
      code: 'ORDER_NOT_CANCELLABLE',
      facts,
    });
    expect(await stateOf(s)).toEqual(before);
  });

  it('refuses an order with nothing left, and a second full cancellation', async () => {
    const s = await shop();
    await s.cancelOrder.execute({ actor, orderId: s.order.id });
    const before = await stateOf(s);

    await expect(s.cancelOrder.execute({ actor, orderId: s.order.id })).rejects.toMatchObject({
      code: 'ORDER_NOT_CANCELLABLE',
      facts: { orderId: s.order.id },
    });
    expect(await stateOf(s)).toEqual(before);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['fractional', 1.5],
  ])('refuses a %s quantity as invalid input before reading the order', async (_label, quantity) => {
    const s = await shop();
    await expect(
      s.cancelOrder.execute({ actor, orderId: 987_654, items: [{ productId: s.mug.id, quantity }] }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it("answers another customer's order as one that does not exist, and changes nothing", async () => {
    const s = await shop();
    const other = await seed(s).user();
    const before = await stateOf(s);
    const stranger: Actor = { role: 'CUSTOMER', userId: other.id };

    await expect(s.cancelOrder.execute({ actor: stranger, orderId: s.order.id })).rejects.toMatchObject({
      code: 'ORDER_NOT_FOUND',
    });
    await expect(s.cancelOrder.execute({ actor, orderId: 987_654 })).rejects.toMatchObject({
      code: 'ORDER_NOT_FOUND',
    });
    expect(await stateOf(s)).toEqual(before);
  });

  it('lets the buyer and an admin cancel', async () => {
    const s = await shop();
    const buyer: Actor = { role: 'CUSTOMER', userId: s.userId };
    const admin: Actor = { role: 'ADMIN', userId: 1_000 };

    await s.cancelOrder.execute({ actor: buyer, orderId: s.order.id, items: [{ productId: s.mug.id, quantity: 1 }] });
    await expect(s.cancelOrder.execute({ actor: admin, orderId: s.order.id })).resolves.toMatchObject({
      status: 'CANCELLED',
    });
  });

  it('refuses a refund that would lift the balance past the ceiling, and changes nothing', async () => {
    const s = await shop();
    const room = MAX_BALANCE - (await s.getBalance.execute({ actor, userId: s.userId })).amount;
    for (let left = room; left > 0; left -= Math.min(left, 10_000_000)) {
      await s.chargeBalance.execute({ actor, userId: s.userId, amount: Math.min(left, 10_000_000) });
    }
    const before = await stateOf(s);

    await expect(s.cancelOrder.execute({ actor, orderId: s.order.id })).rejects.toMatchObject({
      code: 'BALANCE_LIMIT_EXCEEDED',
    });
    expect(await stateOf(s)).toEqual(before);
  });

  it('refuses a restock past the stock limit as STOCK_LIMIT_EXCEEDED, and changes nothing', async () => {
    const s = await shop();
    const { stock } = await s.getProduct.execute({ productId: s.beans.id });
    const audit = systemStamp('product.update');
    await s.updateProduct.execute({ actor, productId: s.beans.id, stockDelta: 1_000_000_000 - stock, audit });
    const before = await stateOf(s);

    await expect(
      s.cancelOrder.execute({ actor, orderId: s.order.id, items: [{ productId: s.beans.id, quantity: 1 }] }),
    ).rejects.toMatchObject({ code: 'STOCK_LIMIT_EXCEEDED', facts: { productId: s.beans.id } });
    expect(await stateOf(s)).toEqual(before);
  });

  it('writes no REFUND entry for a cancellation that refunds 0', async () => {
    const s = inMemoryShop('2026-11-24T03:00:00.000Z');
    const make = seed(s);
    const user = await make.user();
    const pen = await make.product({ stock: 5 });
    const copy = await make.couponFor(user.id, { discountType: 'PERCENT', discountValue: 100 });
    const order = await make.order(user.id, [{ productId: pen.id, quantity: 2 }], copy.id);
    const entries = s.store.state.ledger.length;

    await expect(s.cancelOrder.execute({ actor, orderId: order.id })).resolves.toMatchObject({
      status: 'CANCELLED',
      refundedAmount: 0,
    });
    expect(s.store.state.ledger).toHaveLength(entries);
    expect((await s.getProduct.execute({ productId: pen.id })).stock).toBe(5);
  });
});
