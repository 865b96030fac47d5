import type pg from 'pg';
import { row, runLoad, scaled, statsOf } from '../harness.js';
import {
  type Scenario,
  type ScenarioContext,
  actingAs,
  insertUsers,
  outcomeOf,
  outcomeOfCall,
  tally,
} from './scenario.js';

const ORDERS = scaled(5_000, 50);
const BUYERS = scaled(1_000, 10);
const SPREAD_PRODUCTS = scaled(1_000, 10);
const LINES_PER_ORDER = 3;
const FUNDS = 1_000_000_000;

interface Item {
  productId: number;
  quantity: number;
}

export async function createProducts(pool: pg.Pool, count: number, stock: number, prefix: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH made AS (
       INSERT INTO products (name, price, stock, created_at, updated_at)
       SELECT $3 || n, 1000 + n % 50 * 100, $2, now(), now() FROM generate_series(1, $1::int) AS n RETURNING id, stock
     ), initial AS (
       INSERT INTO stock_adjustments (product_id, delta, reason, created_at)
       SELECT id, stock, 'INITIAL', now() FROM made
     )
     SELECT id FROM made`,
    [count, stock, prefix],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

async function fundedBuyers(pool: pg.Pool, prefix: string): Promise<number[]> {
  const users = await insertUsers(pool, BUYERS, prefix);
  await pool.query('UPDATE balances SET amount = $1 WHERE user_id = ANY($2::bigint[])', [FUNDS, users]);
  return users;
}

/** Sold units against stock taken, per product: no product may sell more than it had. */
async function stockCheck(pool: pg.Pool, productIds: number[], initialStock: number) {
  const { rows } = await pool.query<{ oversold: string; mismatched: string; sold: string }>(
    `SELECT count(*) FILTER (WHERE p.stock < 0 OR coalesce(s.sold, 0) > $2) AS oversold,
            count(*) FILTER (WHERE p.stock + coalesce(s.sold, 0) <> $2) AS mismatched,
            coalesce(sum(s.sold), 0) AS sold
     FROM products p
     LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s ON s.product_id = p.id
     WHERE p.id = ANY($1::bigint[])`,
    [productIds, initialStock],
  );
  const r = rows[0]!;
  return { oversold: Number(r.oversold), mismatched: Number(r.mismatched), sold: Number(r.sold) };
}

function orderScenario(
  name: string,
  description: string,
  productCount: number,
  linesPerOrder: number,
  stock: number,
): Scenario {
  /** Order i's items: the same plan for the service and the ceiling, so both do the same work. */
  const plan = (products: number[], i: number): Item[] =>
    Array.from({ length: linesPerOrder }, (_, line) => ({
      productId: products[(i * 7919 + line * 104_729) % products.length]!,
      quantity: 1 + ((i + line) % 3),
    })).filter((item, index, all) => all.findIndex((other) => other.productId === item.productId) === index);

  async function runOn(
    context: ScenarioContext,
    label: string,
    place: (userId: number, token: string, items: Item[]) => Promise<string>,
  ) {
    const products = await createProducts(context.pg, productCount, stock, `${name} ${label} `);
    const buyers = await fundedBuyers(context.pg, `${name} ${label} `);
    // Each buyer orders for themselves, with their own token.
    const tokens = await context.auth.tokensFor(buyers);
    const run = await runLoad(`${name} (${label})`, ORDERS, context.concurrency, (i) =>
      place(buyers[i % buyers.length]!, tokens[i % buyers.length]!, plan(products, i)),
    );
    const placed = run.samples.filter((s) => s.value === 'PAID');
    const check = await stockCheck(context.pg, products, stock);
    return { run, placed, check, stats: statsOf(placed, Math.max(...placed.map((s) => s.doneAt))) };
  }

  return {
    name,
    description,
    async run(context) {
      const service = await runOn(context, 'service', async (userId, token, items) =>
        outcomeOf(await context.http.request('POST', '/api/v1/orders', { userId, items }, token), 201, 'PAID'),
      );
      const { placeOrder } = context.ceiling.useCases;
      const ceiling = await runOn(context, 'ceiling: in-process', (userId, token, items) =>
        outcomeOfCall(
          actingAs(context.ceiling, token, (actor) => placeOrder.execute({ actor, userId, items })),
          'PAID',
        ),
      );
      const expectedRefusal = stock < ORDERS * 3 ? ['INSUFFICIENT_STOCK'] : [];
      const errors = Object.entries(tally(service.run.samples.map((s) => s.value))).reduce(
        (sum, [key, count]) => (key === 'PAID' || expectedRefusal.includes(key) ? sum : sum + count),
        0,
      );
      const ok =
        service.check.oversold === 0 && service.check.mismatched === 0 && ceiling.check.oversold === 0 && errors === 0;
      return [
        row(
          name,
          service.stats,
          errors,
          ceiling.stats,
          `${service.placed.length} paid, oversold ${service.check.oversold}, stock+sold=initial off for ${service.check.mismatched} products`,
          ok,
        ),
      ];
    },
  };
}

export const orderSpread = orderScenario(
  'order-spread',
  `${ORDERS} orders of up to ${LINES_PER_ORDER} lines over ${SPREAD_PRODUCTS} products from ${BUYERS} buyers`,
  SPREAD_PRODUCTS,
  LINES_PER_ORDER,
  1_000_000,
);

export const orderHot = orderScenario(
  'order-hot',
  `${ORDERS} single-line orders (1 to 3 units) for one product from ${BUYERS} buyers, with stock for 60 % of the units asked`,
  1,
  1,
  Math.floor(ORDERS * 2 * 0.6),
);
