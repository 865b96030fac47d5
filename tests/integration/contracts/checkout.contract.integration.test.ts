import { describe, expect, it } from 'vitest';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { Checkout, CheckoutRequest, Placement } from '../../../src/application/ports/checkout-repository.js';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { UpdateProduct } from '../../../src/application/product/update-product.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { type ContainerOptions, appDependencies, createContainer } from '../../../src/container.js';
import { TOKENS } from '../../../src/container-tokens.js';
import { Order } from '../../../src/domain/order/order.js';
import { localDateOf } from '../../../src/domain/statistics/shop-calendar.js';
import { seed, systemStamp } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

/**
 * The CheckoutRepository port's contract, the same suite over the PostgreSQL adapter and the in-memory
 * fake, so the fake that unit tests rely on can't drift from the database. Each case seeds through the
 * same use cases on both and reads back through the sibling query ports, never through SQL.
 */
const database = useTestDatabase({ poolSize: 10 });
const actor = SYSTEM;
const TIME_ZONE = 'Asia/Seoul';
const START = '2026-11-24T03:00:00.000Z';

const adapters: { name: string; repositories: () => ContainerOptions['repositories'] }[] = [
  { name: 'PostgreSQL', repositories: () => ({ kind: 'POSTGRES', db: database.db }) },
  { name: 'in memory', repositories: () => ({ kind: 'IN_MEMORY', store: new InMemoryStore() }) },
];

describe.each(adapters)('CheckoutRepository on $name', ({ repositories }) => {
  function shop() {
    const clock = new ManualClock(START);
    const c = createContainer({ repositories: repositories(), clock, timeZone: TIME_ZONE });
    const at = clock.now();
    const checkouts = c.resolve(TOKENS.Checkouts);

    const make = seed(appDependencies(c));

    async function buyer(funds: number): Promise<number> {
      return (await make.chargedUser(funds)).id;
    }
    async function product(price: number, stock: number): Promise<number> {
      return (await make.product({ price, stock })).id;
    }
    async function copyFor(userId: number): Promise<number> {
      return (await make.couponFor(userId, { discountType: 'FIXED', discountValue: 500 })).id;
    }

    /** What PlaceOrder decides, on the checkout as read: every line at the product's price. */
    function placement(checkout: Checkout, userId: number, items: [productId: number, quantity: number][]): Placement {
      const lines = items.map(([productId, quantity]) => ({ product: checkout.products.get(productId)!, quantity }));
      const coupon = checkout.coupon;
      const order = new Order({ ...Order.place({ userId, lines, coupon, at }), id: checkout.orderId });
      return {
        order,
        balanceBefore: checkout.balance!.amount,
        payment: checkout.balance!.pay(order.paidAmount, order.id, at),
        couponUsed: coupon?.use(userId, order.id, at),
        stock: lines
          .map(({ product, quantity }) => ({ productId: product.id, quantity, price: product.price }))
          .sort((a, b) => a.productId - b.productId),
        salesDay: localDateOf(at, TIME_ZONE),
      };
    }

    const request = (userId: number, productIds: number[], userCouponId?: number): CheckoutRequest => ({
      userId,
      userCouponId,
      productIds: [...productIds].sort((a, b) => a - b),
    });

    /** What the sibling query ports read back about a buyer, their products and the outbox. */
    async function footprint(userId: number, productIds: number[], orderId: number) {
      const order = await c.resolve(TOKENS.OrderQueries).findById(orderId);
      const balance = await c.resolve(TOKENS.BalanceQueries).findByUserId(userId);
      const ledger = await c.resolve(TOKENS.BalanceQueries).listLedger(userId, { limit: 10 });
      const stock = await Promise.all(
        productIds.map(async (id) => (await c.resolve(TOKENS.ProductQueries).findById(id))?.stock),
      );
      const copies = await c.resolve(TOKENS.CouponQueries).listUserCoupons(userId, { now: at }, { limit: 10 });
      const deliveries = await c.resolve(TOKENS.DeliveryStore).list({ type: 'ORDER_PAID' }, { limit: 100 });
      const day = localDateOf(at, TIME_ZONE);
      const sold = await c.resolve(TOKENS.SalesStatistics).topSellers(day, day, 1_000);
      return {
        order: order && { userId: order.userId, paidAmount: order.paidAmount, status: order.status },
        balance: balance?.amount,
        ledger: ledger.items.map((entry) => [entry.type, entry.amount, entry.balanceAfter]),
        stock,
        used: copies.items.map((copy) => copy.orderId),
        events: deliveries.items.filter((delivery) => delivery.orderId === orderId).length,
        sold: productIds.map((id) => sold.find((sale) => sale.product.id === id)?.soldQuantity ?? 0),
      };
    }

    return { c, clock, checkouts, buyer, product, copyFor, placement, request, footprint };
  }

  it('peeks at the buyer, their balance, their own copy and the products, and reserves a new order id each time', async () => {
    const s = shop();
    const userId = await s.buyer(10_000);
    const mug = await s.product(1_200, 5);
    const copy = await s.copyFor(userId);

    const first = await s.checkouts.peek(s.request(userId, [mug], copy));
    const second = await s.checkouts.peek(s.request(userId, [mug]));

    expect(first.userExists).toBe(true);
    expect(first.balance).toMatchObject({ userId, amount: 10_000 });
    expect(first.coupon).toMatchObject({ id: copy, userId, usedAt: null });
    expect(second.coupon).toBeUndefined();
    expect([...first.products.values()]).toEqual([expect.objectContaining({ id: mug, price: 1_200, stock: 5 })]);
    expect(second.orderId).not.toBe(first.orderId);
    const nobody = await s.checkouts.peek(s.request(987_654_321, [mug]));
    expect(nobody).toMatchObject({ userExists: false, balance: undefined });
  });

  it("reads another user's coupon copy as none", async () => {
    const s = shop();
    const owner = await s.buyer(0);
    const other = await s.buyer(10_000);
    const theirs = await s.copyFor(owner);

    expect((await s.checkouts.peek(s.request(other, [], theirs))).coupon).toBeUndefined();
  });

  it('places a decision that still holds: stock, order, payment, ledger, copy, event and sales together', async () => {
    const s = shop();
    const userId = await s.buyer(10_000);
    const [mug, tea] = [await s.product(1_200, 5), await s.product(800, 9)];
    const copy = await s.copyFor(userId);
    const checkout = await s.checkouts.peek(s.request(userId, [mug, tea], copy));
    const decided = s.placement(checkout, userId, [
      [mug, 2],
      [tea, 1],
    ]);

    await expect(s.checkouts.place(decided)).resolves.toBe(true);

    expect(await s.footprint(userId, [mug, tea], checkout.orderId)).toEqual({
      order: { userId, paidAmount: 2_700, status: 'PAID' },
      balance: 7_300,
      ledger: [
        ['PAYMENT', -2_700, 7_300],
        ['CHARGE', 10_000, 10_000],
      ],
      stock: [3, 8],
      used: [checkout.orderId],
      events: 1,
      sold: [2, 1],
    });
  });

  it('places when other orders took stock but enough is left at the same price', async () => {
    const s = shop();
    const [first, second] = [await s.buyer(10_000), await s.buyer(10_000)];
    const mug = await s.product(1_000, 5);
    const late = s.placement(await s.checkouts.peek(s.request(second, [mug])), second, [[mug, 2]]);
    const early = s.placement(await s.checkouts.peek(s.request(first, [mug])), first, [[mug, 3]]);

    await expect(s.checkouts.place(early)).resolves.toBe(true);
    await expect(s.checkouts.place(late)).resolves.toBe(true);

    expect((await s.footprint(second, [mug], late.order.id)).stock).toEqual([0]);
  });

  it.each([
    ['a charge landed on the balance', 'balance'],
    ['the copy paid for another order', 'copy'],
    ['too little stock is left', 'stock'],
    ['the price changed', 'price'],
  ] as const)('writes nothing when %s since the decision', async (_label, change) => {
    const s = shop();
    const userId = await s.buyer(10_000);
    const mug = await s.product(1_000, 3);
    const copy = await s.copyFor(userId);
    const stale = s.placement(await s.checkouts.peek(s.request(userId, [mug], copy)), userId, [[mug, 2]]);
    const before = await s.footprint(userId, [mug], stale.order.id);

    if (change === 'balance') await s.c.resolve(ChargeBalance).execute({ actor, userId, amount: 1 });
    // Each change alone: the copy spent on a free order (its 500 off a 500 item leaves the balance as it
    // was), the stock taken by another buyer.
    if (change === 'copy') {
      const freebie = await s.product(500, 10);
      const other = s.placement(await s.checkouts.peek(s.request(userId, [freebie], copy)), userId, [[freebie, 1]]);
      expect(other.order.paidAmount).toBe(0);
      await expect(s.checkouts.place(other)).resolves.toBe(true);
    }
    if (change === 'stock') {
      const rival = await s.buyer(10_000);
      const other = s.placement(await s.checkouts.peek(s.request(rival, [mug])), rival, [[mug, 2]]);
      await expect(s.checkouts.place(other)).resolves.toBe(true);
    }
    if (change === 'price') {
      const audit = systemStamp('product.update');
      await s.c.resolve(UpdateProduct).execute({ actor, productId: mug, price: 1_100, audit });
    }
    const changed = await s.footprint(userId, [mug], stale.order.id);

    await expect(s.checkouts.place(stale)).resolves.toBe(false);

    expect(await s.footprint(userId, [mug], stale.order.id)).toEqual(changed);
    expect(changed.order).toBeUndefined();
    expect(before.order).toBeUndefined();
  });
});
