import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { CreateCoupon } from '../../../src/application/coupon/create-coupon.js';
import { CreateUser } from '../../../src/application/user/create-user.js';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { RunIdempotently } from '../../../src/application/idempotency/run-idempotently.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import type { OrderItem } from '../../../src/domain/order/order.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { DomainError } from '../../../src/domain/shared/domain-error.js';
import { createContainer } from '../../../src/container.js';
import { createDb } from '../../../src/adapters/postgres/database.js';
import { PgCheckoutRepository } from '../../../src/adapters/postgres/pg-checkout-repository.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { systemClock } from '../../../src/adapters/system-clock.js';
import type { CheckoutRepository } from '../../../src/application/ports/checkout-repository.js';
import type { UnitOfWork } from '../../../src/application/ports/unit-of-work.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;

function shop() {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db } });
  return {
    placeOrder: c.resolve(PlaceOrder),
    chargeBalance: c.resolve(ChargeBalance),
    createUser: c.resolve(CreateUser),
    createProduct: c.resolve(CreateProduct),
    createCoupon: c.resolve(CreateCoupon),
    issueCoupon: c.resolve(IssueCoupon),
    runIdempotently: c.resolve(RunIdempotently),
  };
}

async function fundedUsers(count: number, amount: number): Promise<number[]> {
  const users = await insertUsers(database.db, count);
  await sql`UPDATE balances SET amount = ${amount} WHERE user_id = ANY(${users}::bigint[])`.execute(database.db);
  return users;
}

const stockOf = (productId: number) =>
  scalar(database.db, sql`SELECT stock AS value FROM products WHERE id = ${productId}`);

/** Every row an order may touch for this user and these products, to prove a refused one touched none. */
async function footprint(userId: number, productIds: number[], userCouponId?: number) {
  const count = (query: ReturnType<typeof sql<{ value: number }>>) => scalar(database.db, query);
  return {
    balance: await count(sql`SELECT amount AS value FROM balances WHERE user_id = ${userId}`),
    ledger: await count(sql`SELECT count(*) AS value FROM balance_ledger WHERE user_id = ${userId}`),
    orders: await count(sql`SELECT count(*) AS value FROM orders WHERE user_id = ${userId}`),
    payments: await count(sql`SELECT count(*) AS value FROM payments WHERE user_id = ${userId}`),
    outbox: await count(
      sql`SELECT count(*) AS value FROM data_platform_outbox o JOIN orders ON orders.id = o.order_id WHERE orders.user_id = ${userId}`,
    ),
    stock: await Promise.all(productIds.map(stockOf)),
    couponUsed:
      userCouponId === undefined
        ? null
        : await count(sql`SELECT count(used_at) AS value FROM user_coupons WHERE id = ${userCouponId}`),
  };
}

describe('placing orders on PostgreSQL', () => {
  it('writes the order, lines, payment, ledger entry, stock, coupon and outbox row together', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const mug = await seed(s).product({ price: 12_000, stock: 5 });
    const copy = await seed(s).couponFor(userId!, { discountType: 'FIXED', discountValue: 2_000 });

    const order = await s.placeOrder.execute({
      actor,
      userId: userId!,
      items: [{ productId: mug.id, quantity: 2 }],
      userCouponId: copy.id,
    });

    expect(order).toMatchObject({ totalAmount: 24_000, discountAmount: 2_000, paidAmount: 22_000 });
    expect(await footprint(userId!, [mug.id], copy.id)).toEqual({
      balance: 78_000,
      ledger: 1,
      orders: 1,
      payments: 1,
      outbox: 1,
      stock: [3],
      couponUsed: 1,
    });
    const outbox = await database.db
      .selectFrom('data_platform_outbox')
      .selectAll()
      .where('order_id', '=', order.id)
      .executeTakeFirstOrThrow();
    expect(outbox).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(outbox.payload).toMatchObject({
      orderId: order.id,
      userId,
      paidAmount: 22_000,
      items: [{ productId: mug.id, quantity: 2, amount: 24_000 }],
    });
  });

  it.each([
    [
      'PRODUCT_NOT_FOUND',
      (ids: number[]) => ({
        items: [
          { productId: ids[0]!, quantity: 1 },
          { productId: 987_654, quantity: 1 },
        ],
      }),
    ],
    [
      'INSUFFICIENT_STOCK',
      (ids: number[]) => ({
        items: [
          { productId: ids[0]!, quantity: 1 },
          { productId: ids[1]!, quantity: 99 },
        ],
      }),
    ],
    ['COUPON_NOT_USABLE', (ids: number[]) => ({ items: [{ productId: ids[0]!, quantity: 1 }], userCouponId: 987_654 })],
    [
      'INSUFFICIENT_BALANCE',
      (ids: number[]) => ({
        items: [
          { productId: ids[0]!, quantity: 5 },
          { productId: ids[1]!, quantity: 5 },
        ],
      }),
    ],
  ] as [string, (ids: number[]) => { items: OrderItem[]; userCouponId?: number }][])(
    'leaves everything as it was on %s',
    async (code, input) => {
      const s = shop();
      const [userId] = await fundedUsers(1, 50_000);
      const a = await seed(s).product({ price: 9_000, stock: 5 });
      const b = await seed(s).product({ price: 9_000, stock: 5 });
      const before = await footprint(userId!, [a.id, b.id]);

      await expect(s.placeOrder.execute({ actor, userId: userId!, ...input([a.id, b.id]) })).rejects.toMatchObject({
        code,
      });

      expect(await footprint(userId!, [a.id, b.id])).toEqual(before);
    },
  );

  it('sells exactly the stock to five times as many concurrent buyers', async () => {
    const s = shop();
    const product = await seed(s).product({ price: 1_000, stock: 40 });
    const buyers = await fundedUsers(200, 10_000);

    const results = await Promise.allSettled(
      buyers.map((userId) => s.placeOrder.execute({ actor, userId, items: [{ productId: product.id, quantity: 1 }] })),
    );

    const codes = results.map((result) =>
      result.status === 'fulfilled' ? 'PAID' : (result.reason as DomainError).code,
    );
    expect(codes.filter((code) => code === 'PAID')).toHaveLength(40);
    expect(codes.filter((code) => code !== 'PAID').every((code) => code === 'INSUFFICIENT_STOCK')).toBe(true);
    expect(await stockOf(product.id)).toBe(0);
    expect(
      await scalar(
        database.db,
        sql`SELECT coalesce(sum(quantity), 0) AS value FROM order_lines WHERE product_id = ${product.id}`,
      ),
    ).toBe(40);
  });

  it('finishes 200 concurrent orders crossing two products in opposite orders without a deadlock', async () => {
    const s = shop();
    const left = await seed(s).product({ price: 100, stock: 10_000 });
    const right = await seed(s).product({ price: 100, stock: 10_000 });
    const buyers = await fundedUsers(200, 10_000);

    const results = await Promise.allSettled(
      buyers.map((userId, i) =>
        s.placeOrder.execute({
          actor,
          userId,
          items:
            i % 2 === 0
              ? [
                  { productId: left.id, quantity: 1 },
                  { productId: right.id, quantity: 1 },
                ]
              : [
                  { productId: right.id, quantity: 1 },
                  { productId: left.id, quantity: 1 },
                ],
        }),
      ),
    );

    expect(results.filter((result) => result.status === 'rejected').map((result) => String(result.reason))).toEqual([]);
    expect([await stockOf(left.id), await stockOf(right.id)]).toEqual([9_800, 9_800]);
  });

  it('has one effect when the same Idempotency-Key is sent 20 times at once', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ price: 1_000, stock: 100 });
    const keep = (error: unknown) =>
      error instanceof DomainError ? { status: 409, body: { code: error.code } } : undefined;
    const attempt = () =>
      s.runIdempotently.execute(
        { userId: userId!, key: 'order-once', route: 'POST /orders', requestHash: 'same' },
        async () => ({
          status: 201,
          body: await s.placeOrder.execute({ actor, userId: userId!, items: [{ productId: product.id, quantity: 3 }] }),
        }),
        keep,
      );

    const results = await Promise.allSettled(Array.from({ length: 20 }, attempt));

    const answers = results.map((result) =>
      result.status === 'fulfilled' ? result.value.response.status : (result.reason as DomainError).code,
    );
    expect(answers.every((answer) => answer === 201 || answer === 'IDEMPOTENCY_KEY_IN_USE')).toBe(true);
    expect(answers).toContain(201);
    expect(await stockOf(product.id)).toBe(97);
    expect(await footprint(userId!, [product.id])).toMatchObject({
      balance: 97_000,
      orders: 1,
      payments: 1,
      ledger: 1,
      outbox: 1,
    });
    const replay = await attempt();
    expect(replay.replayed).toBe(true);
  });

  it('serves more concurrent keyed coupon issues than the pool has connections, without waiting on itself', async () => {
    const small = createDb({ url: database.url, schema: database.schema, poolSize: 2, connectionTimeoutMs: 2_000 });
    try {
      const c = createContainer({ repositories: { kind: 'POSTGRES', db: small } });
      const [issue, run] = [c.resolve(IssueCoupon), c.resolve(RunIdempotently)];
      const coupon = await seed(shop()).coupon({ totalQuantity: 100 });
      const users = await fundedUsers(8, 0);
      const keep = (error: unknown) =>
        error instanceof DomainError ? { status: 409, body: { code: error.code } } : undefined;
      const results = await Promise.all(
        users.map((userId) =>
          run.execute(
            { userId, key: 'k', route: 'POST issue', requestHash: 'h' },
            async () => ({ status: 201, body: await issue.execute({ actor, couponId: coupon.id, userId }) }),
            keep,
          ),
        ),
      );
      expect(results.map((result) => result.response.status)).toEqual(users.map(() => 201));
      expect(
        await scalar(database.db, sql`SELECT sum(issued) AS value FROM coupon_stripes WHERE coupon_id = ${coupon.id}`),
      ).toBe(8);
    } finally {
      await small.destroy();
    }
  });

  it('keeps a refused coupon issue with its key, the failed statement undone and the transaction still usable', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 0);
    const coupon = await seed(s).coupon();
    await seed(s).issued(coupon.id, userId!);
    const keep = (error: unknown) =>
      error instanceof DomainError ? { status: 409, body: { code: error.code } } : undefined;
    const again = () =>
      s.runIdempotently.execute(
        { userId: userId!, key: 'issue-again', route: `POST /coupons/${coupon.id}/issue`, requestHash: 'h' },
        async () => ({
          status: 201,
          body: await s.issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! }),
        }),
        keep,
      );

    await expect(again()).resolves.toEqual({
      response: { status: 409, body: { code: 'COUPON_ALREADY_ISSUED' } },
      replayed: false,
    });
    await expect(again()).resolves.toMatchObject({ replayed: true });
    expect(
      await scalar(database.db, sql`SELECT sum(issued) AS value FROM coupon_stripes WHERE coupon_id = ${coupon.id}`),
    ).toBe(1);
  });
});

/**
 * PlaceOrder whose first `place` is preceded by `meanwhile`: what another request changes between the
 * order's decision (on an unlocked read) and its one writing statement.
 */
function placeOrderWith(meanwhile: () => Promise<void>) {
  let first = true;
  const interfering = (checkouts: CheckoutRepository): CheckoutRepository => ({
    peek: (request) => checkouts.peek(request),
    open: (request) => checkouts.open(request),
    products: (ids) => checkouts.products(ids),
    place: async (placement) => {
      if (first) {
        first = false;
        await meanwhile();
      }
      return checkouts.place(placement);
    },
  });
  const uow = new PgUnitOfWork(database.db);
  const interferingUow: UnitOfWork = {
    run: (work) =>
      uow.run((repos) =>
        work(
          new Proxy(repos, {
            get: (target, name): unknown =>
              name === 'checkouts' ? interfering(target.checkouts) : Reflect.get(target, name),
          }),
        ),
      ),
  };
  return new PlaceOrder(interferingUow, interfering(new PgCheckoutRepository(database.db)), systemClock, 'Asia/Seoul');
}

describe('an order whose products change between its decision and its write', () => {
  it('is priced at the price as it is when the stock is taken, never at the one it read', async () => {
    const [buyer] = await fundedUsers(1, 100_000);
    const product = await seed(shop()).product({ price: 1_000, stock: 10 });
    const placeOrder = placeOrderWith(async () => {
      await sql`UPDATE products SET price = 1500 WHERE id = ${product.id}`.execute(database.db);
    });

    const order = await placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product.id, quantity: 2 }] });

    expect(order.paidAmount).toBe(3_000);
    expect(await footprint(buyer!, [product.id])).toMatchObject({
      balance: 97_000,
      ledger: 1,
      orders: 1,
      payments: 1,
      outbox: 1,
      stock: [8],
    });
  });

  it('is refused INSUFFICIENT_STOCK, with what is left now, when another order took the stock meanwhile, and writes nothing', async () => {
    const [buyer] = await fundedUsers(1, 100_000);
    const product = await seed(shop()).product({ stock: 3 });
    // Another order's stock taking, on a connection of its own (an order placed from here would join this
    // unit of work, which is rolled back).
    const placeOrder = placeOrderWith(async () => {
      await sql`UPDATE products SET stock = stock - 2 WHERE id = ${product.id}`.execute(database.db);
    });

    await expect(
      placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product.id, quantity: 2 }] }),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      facts: { productId: product.id, requested: 2, available: 1 },
    });

    expect(await footprint(buyer!, [product.id])).toEqual({
      balance: 100_000,
      ledger: 0,
      orders: 0,
      payments: 0,
      outbox: 0,
      stock: [1],
      couponUsed: null,
    });
  });
});

describe("an order whose buyer's rows change between its decision and its write", () => {
  it('is paid from the balance as it is then, keeping a charge that landed meanwhile', async () => {
    const s = shop();
    const [buyer] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ price: 1_000, stock: 10 });
    const placeOrder = placeOrderWith(async () => {
      await s.chargeBalance.execute({ actor, userId: buyer!, amount: 5_000 });
    });

    await placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product.id, quantity: 2 }] });

    expect(await footprint(buyer!, [product.id])).toMatchObject({ balance: 103_000, ledger: 2, orders: 1, stock: [8] });
    const last = await scalar(
      database.db,
      sql`SELECT balance_after AS value FROM balance_ledger WHERE user_id = ${buyer} ORDER BY id DESC LIMIT 1`,
    );
    expect(last).toBe(103_000);
  });

  it('is refused COUPON_NOT_USABLE when another order of the buyer used the copy meanwhile', async () => {
    const s = shop();
    const [buyer] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ price: 1_000, stock: 10 });
    const copy = await seed(s).couponFor(buyer!, { discountType: 'FIXED', discountValue: 500 });
    const items = [{ productId: product.id, quantity: 1 }];
    const placeOrder = placeOrderWith(async () => {
      await s.placeOrder.execute({ actor, userId: buyer!, items, userCouponId: copy.id });
    });

    await expect(placeOrder.execute({ actor, userId: buyer!, items, userCouponId: copy.id })).rejects.toMatchObject({
      code: 'COUPON_NOT_USABLE',
    });

    expect(await footprint(buyer!, [product.id], copy.id)).toMatchObject({
      balance: 99_500,
      orders: 1,
      stock: [9],
      couponUsed: 1,
    });
  });
});

describe("an order naming another user's coupon copy", () => {
  it('reads as no copy (COUPON_NOT_USABLE, NOT_FOUND) and leaves that copy unlocked for its owner meanwhile', async () => {
    const s = shop();
    const [owner, other] = await fundedUsers(2, 100_000);
    const copy = await seed(s).couponFor(owner!);

    const lockedMeanwhile = await new PgUnitOfWork(database.db).run(async (repos) => {
      const checkout = await repos.checkouts.open({ userId: other!, userCouponId: copy.id, productIds: [] });
      expect(checkout.coupon).toBeUndefined();
      // The owner's own order would lock the copy now: it must not wait on the other user's checkout.
      return sql`SELECT id FROM user_coupons WHERE id = ${copy.id} FOR UPDATE NOWAIT`.execute(database.db).then(
        () => false,
        (error: { code?: string }) => error.code === '55P03',
      );
    });
    expect(lockedMeanwhile).toBe(false);
  });
});
