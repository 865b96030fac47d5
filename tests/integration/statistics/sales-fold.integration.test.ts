import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { checkInvariants } from '../../../src/adapters/postgres/invariants.js';
import { PgSalesRollup, startSalesFolding } from '../../../src/adapters/postgres/pg-sales-rollup.js';
import { CancelOrder } from '../../../src/application/order/cancel-order.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

/**
 * Orders and cancellations append their units to product_sales_pending; the fold moves them into the
 * product_daily_sales rollup. What readers see (product_daily_sales_live) must never change by folding.
 */
const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;
const TIME_ZONE = 'Asia/Seoul';

function shop(clock = new ManualClock('2026-11-24T03:00:00.000Z')) {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock, timeZone: TIME_ZONE });
  return { clock, placeOrder: c.resolve(PlaceOrder), cancelOrder: c.resolve(CancelOrder) };
}

async function newProducts(count: number, stock = 1_000_000): Promise<number[]> {
  const make = seed(appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db } })));
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push((await make.product({ price: 100, stock })).id);
  return ids;
}

async function fundedUsers(count: number): Promise<number[]> {
  const users = await insertUsers(database.db, count);
  await sql`UPDATE balances SET amount = 100000000 WHERE user_id = ANY(${users}::bigint[])`.execute(database.db);
  return users;
}

type DayUnits = [day: string, productId: number, units: number][];

async function dayUnits(relation: 'product_daily_sales' | 'product_daily_sales_live', productIds: number[]) {
  const { rows } = await sql<{ day: string; product_id: number; units: number }>`
    SELECT sales_date::text AS day, product_id, quantity AS units FROM ${sql.table(relation)}
    WHERE product_id = ANY(${productIds}::bigint[]) AND quantity <> 0 ORDER BY 1, 2`.execute(database.db);
  return rows.map(({ day, product_id, units }) => [day, Number(product_id), Number(units)]) as DayUnits;
}

/** Units sold less units cancelled, per shop day and product, from the order and cancellation lines. */
async function fromLines(productIds: number[]): Promise<DayUnits> {
  const { rows } = await sql<{ day: string; product_id: number; units: number }>`
    SELECT (o.created_at AT TIME ZONE ${TIME_ZONE})::date::text AS day, l.product_id, sum(l.quantity) AS units
    FROM (SELECT order_id, product_id, quantity FROM order_lines
          UNION ALL SELECT order_id, product_id, -quantity FROM order_cancellation_lines) l
    JOIN orders o ON o.id = l.order_id
    WHERE l.product_id = ANY(${productIds}::bigint[])
    GROUP BY 1, 2 HAVING sum(l.quantity) <> 0 ORDER BY 1, 2`.execute(database.db);
  return rows.map(({ day, product_id, units }) => [day, Number(product_id), Number(units)]);
}

async function pendingOf(productIds: number[]): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    SELECT count(*)::int AS count FROM product_sales_pending WHERE product_id = ANY(${productIds}::bigint[])`.execute(
    database.db,
  );
  return rows[0]!.count;
}

async function foldAll(rollup: PgSalesRollup): Promise<number> {
  let total = 0;
  for (let folded = await rollup.fold(); folded > 0; folded = await rollup.fold()) total += folded;
  return total;
}

describe('folding pending sales into the rollup on PostgreSQL', () => {
  it('moves orders and cancellations of two shop days into the rollup, the live sums unchanged', async () => {
    const s = shop(new ManualClock('2026-11-23T14:00:00.000Z'));
    const [a, b] = (await newProducts(2)) as [number, number];
    const [buyer] = await fundedUsers(1);
    const first = await s.placeOrder.execute({
      actor,
      userId: buyer!,
      items: [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 2 },
      ],
    });
    s.clock.set('2026-11-23T16:00:00.000Z'); // the 24th in Seoul
    const second = await s.placeOrder.execute({ actor, userId: buyer!, items: [{ productId: a, quantity: 5 }] });
    await s.cancelOrder.execute({ actor, orderId: first.id, items: [{ productId: a, quantity: 1 }] });
    await s.cancelOrder.execute({ actor, orderId: second.id });

    const expected: DayUnits = [
      ['2026-11-23', a, 2],
      ['2026-11-23', b, 2],
    ];
    expect(await fromLines([a, b])).toEqual(expected);
    expect(await pendingOf([a, b])).toBe(5);
    expect(await dayUnits('product_daily_sales_live', [a, b])).toEqual(expected);
    expect(await dayUnits('product_daily_sales', [a, b])).toEqual([]);

    await foldAll(new PgSalesRollup(database.db));

    expect(await pendingOf([a, b])).toBe(0);
    expect(await dayUnits('product_daily_sales', [a, b])).toEqual(expected);
    expect(await dayUnits('product_daily_sales_live', [a, b])).toEqual(expected);
  });

  it('folds one row at a time without taking a cancelled product below zero', async () => {
    const s = shop();
    const [product] = (await newProducts(1)) as [number];
    const buyers = await fundedUsers(3);
    const orders = [];
    for (const userId of buyers)
      orders.push(await s.placeOrder.execute({ actor, userId, items: [{ productId: product, quantity: 4 }] }));
    for (const order of orders) await s.cancelOrder.execute({ actor, orderId: order.id });
    const rollup = new PgSalesRollup(database.db, 1);

    // Each fold takes the oldest row alone: the order's +4 always before its cancellation's -4.
    const seen: DayUnits[] = [];
    while ((await rollup.fold()) > 0) seen.push(await dayUnits('product_daily_sales', [product]));

    const day = '2026-11-24';
    expect(seen).toEqual(
      [4, 8, 12, 8, 4].map((units) => [[day, product, units]]).concat([[]]), // the last fold leaves a row of 0
    );
    expect(await pendingOf([product])).toBe(0);
    expect(await dayUnits('product_daily_sales', [product])).toEqual([]);
    expect(await dayUnits('product_daily_sales_live', [product])).toEqual([]);
  });

  it('folds nothing while another fold holds the lock, and everything after it commits', async () => {
    const s = shop();
    const [product] = (await newProducts(1)) as [number];
    const [buyer] = await fundedUsers(1);
    await s.placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product, quantity: 2 }] });
    const outside = new PgSalesRollup(database.db);

    await database.db.transaction().execute(async (trx) => {
      await new PgSalesRollup(trx).fold();
      // The fold above holds the lock until this transaction ends; the one outside it must not wait for it.
      await expect(outside.fold()).resolves.toBe(0);
      await s.placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product, quantity: 3 }] });
      await expect(outside.fold()).resolves.toBe(0);
    });

    expect(await pendingOf([product])).toBe(1);
    expect(await outside.fold()).toBeGreaterThanOrEqual(1);
    expect(await pendingOf([product])).toBe(0);
    expect(await dayUnits('product_daily_sales', [product])).toEqual([['2026-11-24', product, 5]]);
  });

  it('loses and doubles nothing when folds race 120 orders and their cancellations', async () => {
    const s = shop();
    const products = await newProducts(6);
    const buyers = await fundedUsers(120);
    const rollups = [new PgSalesRollup(database.db, 7), new PgSalesRollup(database.db, 3)];
    let trading = true;
    let folds = 0;
    // Two folders at once, as two instances would run them; each small batch a prefix of what is pending.
    const folding = rollups.map(async (rollup) => {
      while (trading) folds += (await rollup.fold()) > 0 ? 1 : 0;
    });

    const trades = await Promise.allSettled(
      buyers.map(async (userId, i) => {
        const items = [
          { productId: products[i % 6]!, quantity: 1 + (i % 4) },
          { productId: products[(i + 1) % 6]!, quantity: 2 },
        ];
        const order = await s.placeOrder.execute({ actor, userId, items });
        if (i % 3 === 0) await s.cancelOrder.execute({ actor, orderId: order.id });
        else if (i % 3 === 1) await s.cancelOrder.execute({ actor, orderId: order.id, items: [items[1]!] });
      }),
    );
    trading = false;
    await Promise.all(folding);

    expect(trades.filter((trade) => trade.status === 'rejected')).toEqual([]);
    expect(folds).toBeGreaterThan(0);
    await foldAll(rollups[0]!);
    expect(await pendingOf(products)).toBe(0);
    const expected = await fromLines(products);
    expect(expected.length).toBeGreaterThan(0);
    expect(await dayUnits('product_daily_sales', products)).toEqual(expected);
    const rollupInvariant = (await checkInvariants(database.db, TIME_ZONE)).find((r) => r.name.startsWith('popular'));
    expect(rollupInvariant).toMatchObject({ holds: true, examples: [] });
  });

  it('folds in the background every interval until stopped', async () => {
    const s = shop();
    const [product] = (await newProducts(1)) as [number];
    const [buyer] = await fundedUsers(1);
    const errors: unknown[] = [];
    const folding = startSalesFolding(new PgSalesRollup(database.db), {
      intervalMs: 20,
      onError: (error) => errors.push(error),
    });
    try {
      await s.placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product, quantity: 1 }] });
      await expect.poll(() => pendingOf([product]), { timeout: 5_000 }).toBe(0);
      expect(await dayUnits('product_daily_sales', [product])).toEqual([['2026-11-24', product, 1]]);
    } finally {
      await folding.stop();
    }
    await s.placeOrder.execute({ actor, userId: buyer!, items: [{ productId: product, quantity: 1 }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await pendingOf([product])).toBe(1);
    expect(errors).toEqual([]);
  });
});
