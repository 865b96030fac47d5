import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { PgSalesStatistics } from '../../../src/adapters/postgres/pg-sales-statistics.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import type { OrderItem } from '../../../src/domain/order/order.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;

function shop(clock = new ManualClock('2026-11-24T03:00:00.000Z')) {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock, timeZone: 'Asia/Seoul' });
  return { clock, ...appDependencies(c) };
}

async function fundedUsers(count: number, amount: number): Promise<number[]> {
  const users = await insertUsers(database.db, count);
  await sql`UPDATE balances SET amount = ${amount} WHERE user_id = ANY(${users}::bigint[])`.execute(database.db);
  return users;
}

async function newProducts(
  s: ReturnType<typeof shop>,
  count: number,
  { price = 100, stock = 1_000_000 } = {},
): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push((await seed(s).product({ name: `rollup product ${i}`, price, stock })).id);
  return ids;
}

/** Units per product as [productId, units], by product id, from a query returning product_id and units. */
async function unitsBy(
  query: ReturnType<typeof sql<{ product_id: number; units: number }>>,
): Promise<[number, number][]> {
  const { rows } = await query.execute(database.db);
  return rows.map((row) => [Number(row.product_id), Number(row.units)] as [number, number]).sort(([a], [b]) => a - b);
}

const rollupOf = (productIds: number[]) =>
  unitsBy(
    sql`SELECT product_id, sum(quantity) AS units FROM product_daily_sales_live WHERE product_id = ANY(${productIds}::bigint[]) GROUP BY product_id`,
  );
const orderLinesOf = (productIds: number[]) =>
  unitsBy(
    sql`SELECT product_id, sum(quantity) AS units FROM order_lines WHERE product_id = ANY(${productIds}::bigint[]) GROUP BY product_id`,
  );
const rollupRowsOf = async (productIds: number[]) => {
  const { rows } = await sql<{ day: string; product_id: number; quantity: number }>`
    SELECT sales_date::text AS day, product_id, quantity FROM product_daily_sales_live
    WHERE product_id = ANY(${productIds}::bigint[]) ORDER BY sales_date, product_id`.execute(database.db);
  return rows.map(({ day, product_id, quantity }) => ({
    day,
    productId: Number(product_id),
    quantity: Number(quantity),
  }));
};

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
}

describe('the popular-products rollup (folded and pending) on PostgreSQL', () => {
  it('after 200 concurrent orders over 20 products, holds exactly the units of the order lines', async () => {
    const s = shop();
    const products = await newProducts(s, 20);
    const users = await fundedUsers(200, 100_000_000);
    const random = seeded(20_261_124);
    const orders: OrderItem[][] = users.map(() => {
      const lineCount = 1 + random(5);
      const chosen = new Set<number>();
      while (chosen.size < lineCount) chosen.add(products[random(products.length)]!);
      return [...chosen].map((productId) => ({ productId, quantity: 1 + random(9) }));
    });
    const expected = new Map<number, number>();
    for (const items of orders)
      for (const { productId, quantity } of items) expected.set(productId, (expected.get(productId) ?? 0) + quantity);

    const results = await Promise.allSettled(
      orders.map((items, i) => s.placeOrder.execute({ actor, userId: users[i]!, items })),
    );

    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const fromLines = await orderLinesOf(products);
    expect(await rollupOf(products)).toEqual(fromLines);
    expect(fromLines).toEqual([...expected].sort(([a], [b]) => a - b));
    // All on one shop day, one row per product sold.
    const rows = await rollupRowsOf(products);
    expect(new Set(rows.map((row) => row.day))).toEqual(new Set(['2026-11-24']));
    expect(rows).toHaveLength(expected.size);
    // And the ranking read from it is the top five of the same sums.
    const top = [...expected].sort(([idA, a], [idB, b]) => b - a || idA - idB).slice(0, 5);
    const popular = await s.getPopularProducts.execute();
    expect(popular.items.map(({ rank, product, soldQuantity }) => [rank, product.id, soldQuantity])).toEqual(
      top.map(([id, units], i) => [i + 1, id, units]),
    );
  });

  it('adds nothing for orders refused for stock or balance, even when they race successful ones', async () => {
    const s = shop();
    const [scarce, plenty] = await newProducts(s, 2, { price: 1_000, stock: 10 });
    const [poor] = await fundedUsers(1, 500);
    await expect(
      s.placeOrder.execute({ actor, userId: poor!, items: [{ productId: plenty!, quantity: 1 }] }),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_BALANCE',
    });
    const [rich] = await fundedUsers(1, 1_000_000);
    await expect(
      s.placeOrder.execute({
        actor,
        userId: rich!,
        items: [
          { productId: plenty!, quantity: 1 },
          { productId: scarce!, quantity: 11 },
        ],
      }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });
    expect(await rollupRowsOf([scarce!, plenty!])).toEqual([]);

    // 30 buyers race for the 10 units of `scarce`, each also buying one `plenty`: only 10 orders go through.
    const buyers = await fundedUsers(30, 1_000_000);
    const results = await Promise.allSettled(
      buyers.map((userId) =>
        s.placeOrder.execute({
          actor,
          userId,
          items: [
            { productId: scarce!, quantity: 1 },
            { productId: plenty!, quantity: 1 },
          ],
        }),
      ),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);
    for (const result of results)
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'INSUFFICIENT_STOCK' });

    expect(await rollupOf([scarce!, plenty!])).toEqual([
      [scarce, 10],
      [plenty, 10],
    ]);
    expect(await orderLinesOf([scarce!, plenty!])).toEqual(await rollupOf([scarce!, plenty!]));
  });

  it('counts an order on the KST day it was placed: 14:59:59.999Z on the 23rd, 15:00:00.000Z on the 24th', async () => {
    const s = shop(new ManualClock('2026-11-23T14:59:59.999Z'));
    const [product] = await newProducts(s, 1);
    const [userId] = await fundedUsers(1, 1_000_000);
    await s.placeOrder.execute({ actor, userId: userId!, items: [{ productId: product!, quantity: 2 }] });
    s.clock.set('2026-11-23T15:00:00.000Z');
    await s.placeOrder.execute({ actor, userId: userId!, items: [{ productId: product!, quantity: 3 }] });
    s.clock.set('2026-11-24T14:59:59.999Z');
    await s.placeOrder.execute({ actor, userId: userId!, items: [{ productId: product!, quantity: 4 }] });

    expect(await rollupRowsOf([product!])).toEqual([
      { day: '2026-11-23', productId: product, quantity: 2 },
      { day: '2026-11-24', productId: product, quantity: 7 },
    ]);
  });

  it('topSellers sums only the given days, ranks by units, breaks ties by product id and keeps to the limit', async () => {
    const s = shop();
    const ids = await newProducts(s, 6, { price: 2_500, stock: 40 });
    const [a, b, c, d, e, f] = ids as [number, number, number, number, number, number];
    // Dates far from the other tests' days, so only these rows fall in the range read.
    const rows: [day: string, productId: number, quantity: number][] = [
      ['2026-10-01', a, 100], // before the range
      ['2026-10-05', b, 100], // after the range
      ['2026-10-02', f, 4],
      ['2026-10-04', f, 3], // f: 7
      ['2026-10-03', e, 5],
      ['2026-10-04', e, 2], // e: 7, ties with f
      ['2026-10-02', d, 7], // d: 7, ties with e and f
      ['2026-10-04', c, 9], // c: 9
      ['2026-10-03', b, 1], // b: 1 in the range
      ['2026-10-02', a, 2], // a: 2 in the range
    ];
    for (const [day, productId, quantity] of rows) {
      await sql`INSERT INTO product_daily_sales (sales_date, product_id, quantity) VALUES (${day}::date, ${productId}, ${quantity})`.execute(
        database.db,
      );
    }
    const statistics = new PgSalesStatistics(database.db);
    const ranked = async (firstDay: string, lastDay: string, limit: number) =>
      (await statistics.topSellers(firstDay, lastDay, limit)).map(({ product, soldQuantity }) => [
        product.id,
        soldQuantity,
      ]);

    expect(await ranked('2026-10-02', '2026-10-04', 10)).toEqual([
      [c, 9],
      [d, 7],
      [e, 7],
      [f, 7],
      [a, 2],
      [b, 1],
    ]);
    expect(await ranked('2026-10-02', '2026-10-04', 3)).toEqual([
      [c, 9],
      [d, 7],
      [e, 7],
    ]);
    expect(await ranked('2026-10-01', '2026-10-05', 2)).toEqual([
      [a, 102],
      [b, 101],
    ]);
    expect(await ranked('2026-10-04', '2026-10-04', 5)).toEqual([
      [c, 9],
      [f, 3],
      [e, 2],
    ]);
    expect(await ranked('2026-09-01', '2026-09-30', 5)).toEqual([]);

    const [first] = await statistics.topSellers('2026-10-02', '2026-10-04', 1);
    expect(first).toMatchObject({
      product: { id: c, name: 'rollup product 2', price: 2_500, stock: 40 },
      soldQuantity: 9,
    });
    expect(typeof first!.soldQuantity).toBe('number');
    expect(
      await scalar(
        database.db,
        sql`SELECT count(*) AS value FROM product_daily_sales WHERE sales_date BETWEEN '2026-10-01' AND '2026-10-05'`,
      ),
    ).toBe(rows.length);
  });
});
