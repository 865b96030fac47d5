import { describe, expect, it } from 'vitest';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { CancellationRecord, CancellationTarget } from '../../../src/application/ports/cancellation-repository.js';
import { decideCancellation } from '../../../src/application/order/cancel-order.js';
import { UpdateProduct } from '../../../src/application/product/update-product.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { type ContainerOptions, appDependencies, createContainer } from '../../../src/container.js';
import { TOKENS } from '../../../src/container-tokens.js';
import type { OrderItem } from '../../../src/domain/order/order.js';
import { MAX_STOCK } from '../../../src/domain/product/product.js';
import { localDateOf } from '../../../src/domain/statistics/shop-calendar.js';
import { seed, systemStamp } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

/**
 * The CancellationRepository port's contract, the same suite over the PostgreSQL adapter and the in-memory
 * fake. Orders are placed through PlaceOrder on both; each case opens and records inside the adapter set's
 * own unit of work, as CancelOrder does, and reads back through the query ports.
 */
const database = useTestDatabase({ poolSize: 10 });
const actor = SYSTEM;
const TIME_ZONE = 'Asia/Seoul';

const adapters: { name: string; repositories: () => ContainerOptions['repositories'] }[] = [
  { name: 'PostgreSQL', repositories: () => ({ kind: 'POSTGRES', db: database.db }) },
  { name: 'in memory', repositories: () => ({ kind: 'IN_MEMORY', store: new InMemoryStore() }) },
];

describe.each(adapters)('CancellationRepository on $name', ({ repositories }) => {
  function shop() {
    const clock = new ManualClock('2026-11-24T03:00:00.000Z');
    const c = createContainer({ repositories: repositories(), clock, timeZone: TIME_ZONE });
    const uow = c.resolve(TOKENS.UnitOfWork);
    const at = clock.now();

    const make = seed(appDependencies(c));

    async function paidOrder(items: [price: number, quantity: number][], { withCopy = false } = {}) {
      const user = await make.chargedUser(100_000);
      const products: { id: number }[] = [];
      for (const [price] of items) products.push(await make.product({ price, stock: 10 }));
      const userCouponId = withCopy
        ? (await make.couponFor(user.id, { discountType: 'FIXED', discountValue: 1_000 })).id
        : undefined;
      const order = await make.order(
        user.id,
        items.map(([, quantity], i) => ({ productId: products[i]!.id, quantity })),
        userCouponId,
      );
      return { userId: user.id, order, productIds: products.map((p) => p.id), userCouponId };
    }

    /** What CancelOrder decides on an opened target. */
    const decide = (target: CancellationTarget, items?: OrderItem[]): CancellationRecord =>
      decideCancellation(target, items, at, TIME_ZONE);

    async function footprint(userId: number, orderId: number, productIds: number[]) {
      const order = await c.resolve(TOKENS.OrderQueries).findById(orderId);
      const balance = await c.resolve(TOKENS.BalanceQueries).findByUserId(userId);
      const ledger = await c.resolve(TOKENS.BalanceQueries).listLedger(userId, { limit: 10 });
      const stock = await Promise.all(
        productIds.map(async (id) => (await c.resolve(TOKENS.ProductQueries).findById(id))?.stock),
      );
      const copies = await c.resolve(TOKENS.CouponQueries).listUserCoupons(userId, { now: at }, { limit: 10 });
      const events = await c.resolve(TOKENS.DeliveryStore).list({ type: 'ORDER_CANCELLED' }, { limit: 100 });
      const day = localDateOf(at, TIME_ZONE);
      const sold = await c.resolve(TOKENS.SalesStatistics).topSellers(day, day, 1_000);
      return {
        status: order?.status,
        cancellations: order?.cancellations.map((k) => [k.refundAmount, k.lines.map((l) => l.quantity)]),
        balance: balance?.amount,
        refunds: ledger.items.filter((entry) => entry.type === 'REFUND').map((entry) => entry.amount),
        stock,
        copyOrder: copies.items.map((copy) => copy.orderId),
        events: events.items.filter((event) => event.orderId === orderId).length,
        sold: productIds.map((id) => sold.find((sale) => sale.product.id === id)?.soldQuantity ?? 0),
      };
    }

    return { c, uow, paidOrder, decide, footprint };
  }

  it('opens an order with its buyer balance and copy, and for its buyer only', async () => {
    const s = shop();
    const { userId, order, userCouponId } = await s.paidOrder([[3_000, 1]], { withCopy: true });

    const target = await s.uow.run((repos) => repos.cancellations.open(order.id));
    const asBuyer = await s.uow.run((repos) => repos.cancellations.open(order.id, userId));
    const asOther = await s.uow.run((repos) => repos.cancellations.open(order.id, userId + 1_000_000));
    const missing = await s.uow.run((repos) => repos.cancellations.open(987_654_321));

    expect(target).toMatchObject({
      order: { id: order.id, userId, paidAmount: 2_000, cancellations: [] },
      balance: { userId, amount: 98_000 },
      coupon: { id: userCouponId, orderId: order.id },
    });
    expect(asBuyer?.order.id).toBe(order.id);
    expect(asOther).toBeUndefined();
    expect(missing).toBeUndefined();
  });

  it('records a partial and then a full cancellation: stock, refunds, status, copy, events and sales', async () => {
    const s = shop();
    const { userId, order, productIds } = await s.paidOrder(
      [
        [2_000, 2],
        [1_000, 3],
      ],
      { withCopy: true },
    );
    const [a, b] = productIds as [number, number];

    const first = await s.uow.run(async (repos) => {
      const record = s.decide((await repos.cancellations.open(order.id))!, [{ productId: b, quantity: 1 }]);
      return repos.cancellations.record(record);
    });
    expect(first).toMatchObject({ orderId: order.id, refundAmount: 857, id: expect.any(Number) });
    expect(await s.footprint(userId, order.id, productIds)).toEqual({
      status: 'PARTIALLY_CANCELLED',
      cancellations: [[857, [1]]],
      balance: 100_000 - 6_000 + 857,
      refunds: [857],
      stock: [8, 8],
      copyOrder: [order.id],
      events: 1,
      sold: [2, 2],
    });

    await s.uow.run(async (repos) => repos.cancellations.record(s.decide((await repos.cancellations.open(order.id))!)));
    expect(await s.footprint(userId, order.id, [a, b])).toEqual({
      status: 'CANCELLED',
      cancellations: [
        [857, [1]],
        [6_000 - 857, [2, 2]],
      ],
      balance: 100_000,
      refunds: [6_000 - 857, 857],
      stock: [10, 10],
      copyOrder: [null],
      events: 2,
      sold: [0, 0],
    });
  });

  it('writes nothing and reports the product when the units back would pass the stock limit', async () => {
    const s = shop();
    const { userId, order, productIds } = await s.paidOrder([[1_000, 2]]);
    const [product] = productIds as [number];
    await s.c.resolve(UpdateProduct).execute({
      actor,
      productId: product,
      stockDelta: MAX_STOCK - 8 - 1,
      audit: systemStamp('product.update'),
    });
    const before = await s.footprint(userId, order.id, productIds);

    const refused = await s.uow.run(async (repos) =>
      repos.cancellations.record(s.decide((await repos.cancellations.open(order.id))!)),
    );

    expect(refused).toEqual({
      stockLimit: { productId: product, stock: MAX_STOCK - 1, stockDelta: 2, limit: MAX_STOCK },
    });
    expect(await s.footprint(userId, order.id, productIds)).toEqual(before);
  });
});
