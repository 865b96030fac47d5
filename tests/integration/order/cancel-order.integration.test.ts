import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { CreateCoupon } from '../../../src/application/coupon/create-coupon.js';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { CancelOrder } from '../../../src/application/order/cancel-order.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { CreateUser } from '../../../src/application/user/create-user.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { checkInvariants } from '../../../src/adapters/postgres/invariants.js';
import { PgOrderQueries } from '../../../src/adapters/postgres/pg-order-repository.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { createContainer } from '../../../src/container.js';
import type { OrderItem } from '../../../src/domain/order/order.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

/** Cancellations under concurrency, on real PostgreSQL: every race ends in a state the invariants accept. */
const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;
const TIME_ZONE = 'Asia/Seoul';

/** A pool of its own, to see from outside what a transaction on `database.db` holds. */
let otherConnection: Db;
beforeAll(() => {
  otherConnection = createDb({ url: database.url, schema: database.schema, poolSize: 1 });
});
afterAll(async () => {
  await otherConnection.destroy();
});

function shop() {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, timeZone: TIME_ZONE });
  return {
    placeOrder: c.resolve(PlaceOrder),
    cancelOrder: c.resolve(CancelOrder),
    chargeBalance: c.resolve(ChargeBalance),
    createUser: c.resolve(CreateUser),
    createProduct: c.resolve(CreateProduct),
    createCoupon: c.resolve(CreateCoupon),
    issueCoupon: c.resolve(IssueCoupon),
  };
}

async function fundedUsers(count: number, amount: number): Promise<number[]> {
  const users = await insertUsers(database.db, count);
  await sql`UPDATE balances SET amount = ${amount} WHERE user_id = ANY(${users}::bigint[])`.execute(database.db);
  // The ledger explains the balance, as a charge would have, so the money invariant holds from the start.
  await sql`
    INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
    SELECT user_id, 'CHARGE', amount, amount, NULL, now() FROM balances WHERE user_id = ANY(${users}::bigint[])`.execute(
    database.db,
  );
  return users;
}

const codeOf = (error: unknown) => (error as { code?: string }).code ?? String(error);
const outcomes = (results: PromiseSettledResult<unknown>[]) =>
  results.reduce<Record<string, number>>((tally, result) => {
    const key = result.status === 'fulfilled' ? 'OK' : codeOf(result.reason);
    tally[key] = (tally[key] ?? 0) + 1;
    return tally;
  }, {});

const balanceOf = (userId: number) =>
  scalar(database.db, sql`SELECT amount AS value FROM balances WHERE user_id = ${userId}`);
const stockOf = (productId: number) =>
  scalar(database.db, sql`SELECT stock AS value FROM products WHERE id = ${productId}`);

async function brokenInvariants(): Promise<string[]> {
  return (await checkInvariants(database.db, TIME_ZONE))
    .filter((result) => !result.holds)
    .map((result) => `${result.name}: ${JSON.stringify(result.examples)}`);
}

describe('cancellations on PostgreSQL', () => {
  it('never refunds more than paid nor restocks more than sold under 40 concurrent partial cancellations', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 1_000_000);
    const product = await seed(s).product({ price: 3_333, stock: 25 });
    const copy = await seed(s).couponFor(userId!, { discountType: 'FIXED', discountValue: 777 });
    const order = await seed(s).order(userId!, [{ productId: product.id, quantity: 25 }], copy.id);
    const afterPayment = await balanceOf(userId!);

    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        s.cancelOrder.execute({ actor, orderId: order.id, items: [{ productId: product.id, quantity: 1 }] }),
      ),
    );

    expect(outcomes(results)).toEqual({ OK: 25, ORDER_NOT_CANCELLABLE: 15 });
    expect(await balanceOf(userId!)).toBe(afterPayment + order.paidAmount);
    expect(await stockOf(product.id)).toBe(25);
    const free = sql<{
      value: number;
    }>`SELECT count(*)::int AS value FROM user_coupons WHERE id = ${copy.id} AND used_at IS NULL`;
    expect(await scalar(database.db, free)).toBe(1);
    expect(await brokenInvariants()).toEqual([]);
  });

  it('lets one of two concurrent full cancellations win; the other is ORDER_NOT_CANCELLABLE', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ stock: 10 });
    const order = await seed(s).order(userId!, [{ productId: product.id, quantity: 4 }]);

    const results = await Promise.allSettled([
      s.cancelOrder.execute({ actor, orderId: order.id }),
      s.cancelOrder.execute({ actor, orderId: order.id }),
    ]);

    expect(outcomes(results)).toEqual({ OK: 1, ORDER_NOT_CANCELLABLE: 1 });
    expect(await balanceOf(userId!)).toBe(100_000);
    expect(await stockOf(product.id)).toBe(10);
    expect(await brokenInvariants()).toEqual([]);
  });

  it('neither deadlocks nor loses an update when cancellations race orders for the same products and charges on the same balance', async () => {
    const s = shop();
    const users = await fundedUsers(6, 10_000_000);
    const products = await Promise.all(Array.from({ length: 3 }, () => seed(s).product({ stock: 100_000 })));
    const ids = products.map((product) => product.id);
    // Each user's lines name the products in a different order, so any lock taken in request order would cross.
    const itemsFor = (i: number): OrderItem[] =>
      (i % 2 === 0 ? ids : [...ids].reverse()).map((productId) => ({ productId, quantity: 1 + (i % 3) }));
    const first = await Promise.all(
      users.map((userId, i) => s.placeOrder.execute({ actor, userId, items: itemsFor(i) })),
    );

    const work = users.flatMap((userId, i) => [
      // A cancellation of the user's order, line by line, racing the same user's new orders and charges.
      ...ids.map((productId) =>
        s.cancelOrder.execute({ actor, orderId: first[i]!.id, items: [{ productId, quantity: 1 }] }),
      ),
      s.placeOrder.execute({ actor, userId, items: itemsFor(i + 1) }),
      s.placeOrder.execute({ actor, userId: users[(i + 1) % users.length]!, items: itemsFor(i) }),
      s.chargeBalance.execute({ actor, userId, amount: 1_000 }),
      s.chargeBalance.execute({ actor, userId, amount: 1_000 }),
    ]);
    const results = await Promise.allSettled(work);

    expect(outcomes(results)).toEqual({ OK: work.length });
    expect(await brokenInvariants()).toEqual([]);
  });

  it('lets a copy freed by a full cancellation pay for a later order', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ price: 2_000 });
    const copy = await seed(s).couponFor(userId!, { discountType: 'PERCENT', discountValue: 50 });
    const items = [{ productId: product.id, quantity: 2 }];
    const order = await seed(s).order(userId!, items, copy.id);

    await s.cancelOrder.execute({ actor, orderId: order.id });
    const again = await s.placeOrder.execute({ actor, userId: userId!, items, userCouponId: copy.id });

    expect(again).toMatchObject({ discountAmount: 2_000, userCouponId: copy.id });
    await expect(s.cancelOrder.execute({ actor, orderId: order.id })).rejects.toMatchObject({
      code: 'ORDER_NOT_CANCELLABLE',
    });
    expect(await brokenInvariants()).toEqual([]);
  });

  it('refuses a refund past the balance ceiling and changes nothing', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const product = await seed(s).product({ price: 50_000, stock: 1 });
    const order = await seed(s).order(userId!, [{ productId: product.id, quantity: 1 }]);
    await sql`UPDATE balances SET amount = 999999999 WHERE user_id = ${userId}`.execute(database.db);

    await expect(s.cancelOrder.execute({ actor, orderId: order.id })).rejects.toMatchObject({
      code: 'BALANCE_LIMIT_EXCEEDED',
    });
    const cancellations = sql<{
      value: number;
    }>`SELECT count(*)::int AS value FROM order_cancellations WHERE order_id = ${order.id}`;
    expect(await scalar(database.db, cancellations)).toBe(0);
    expect(await stockOf(product.id)).toBe(0);
    expect(await balanceOf(userId!)).toBe(999_999_999);
  });
});

describe('reading a cancelled order on PostgreSQL', () => {
  it('answers the status its cancellations give, even when the stored status it read is older than they are', async () => {
    const s = shop();
    const [userId] = await fundedUsers(1, 100_000);
    const product = await seed(s).product();
    const order = await seed(s).order(userId!, [{ productId: product.id, quantity: 2 }]);
    await s.cancelOrder.execute({ actor, orderId: order.id, items: [{ productId: product.id, quantity: 1 }] });
    // What a read sees when a cancellation commits between its statements: the row from before, the cancellation.
    await sql`UPDATE orders SET status = 'PAID' WHERE id = ${order.id}`.execute(database.db);

    const queries = new PgOrderQueries(database.db);

    await expect(queries.findById(order.id)).resolves.toMatchObject({ status: 'PARTIALLY_CANCELLED' });
    await expect(queries.listByUser(userId!, { limit: 10 })).resolves.toMatchObject({
      items: [expect.objectContaining({ status: 'PARTIALLY_CANCELLED' })],
    });
  });
});

describe("another customer's cancellation on PostgreSQL", () => {
  it("takes no lock on the order, its copy or its buyer's balance before it is refused", async () => {
    const s = shop();
    const [buyer, stranger] = await fundedUsers(2, 100_000);
    const product = await seed(s).product();
    const order = await seed(s).order(buyer!, [{ productId: product.id, quantity: 1 }]);

    const free = await new PgUnitOfWork(database.db).run(async (repos) => {
      const target = await repos.cancellations.open(order.id, stranger);
      // From another connection, while the stranger's transaction is still open.
      const { rows } = await sql<{ locked: number }>`
        SELECT (SELECT count(*) FROM (SELECT 1 FROM orders WHERE id = ${order.id} FOR UPDATE SKIP LOCKED) o)
             + (SELECT count(*) FROM (SELECT 1 FROM balances WHERE user_id = ${buyer} FOR UPDATE SKIP LOCKED) b)
             AS locked`.execute(otherConnection);
      return { target, lockable: rows[0]!.locked };
    });

    expect(free).toEqual({ target: undefined, lockable: 2 });
  });
});
