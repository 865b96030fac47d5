import type pg from 'pg';
import { localDateOf } from '../../src/domain/statistics/shop-calendar.js';
import { row, runLoad, statsOf } from '../harness.js';
import { type Scenario, type ScenarioContext, inTransaction, insertUsers, outcomeOf, tally } from './scenario.js';

const ORDERS = 5_000;
const BUYERS = 1_000;
const SPREAD_PRODUCTS = 1_000;
const LINES_PER_ORDER = 3;
const FUNDS = 1_000_000_000;

interface Item {
  productId: number;
  quantity: number;
}

class Refused extends Error {}

const TIME_ZONE = process.env.SHOP_TIMEZONE ?? 'Asia/Seoul';

/**
 * The SQL PlaceOrder runs through the Pg adapters, statement for statement, in one transaction: user,
 * products locked in id order, the order with its lines and payment, the balance locked and debited
 * with its ledger entry, the stock, the outbox row, the day's sales.
 */
async function placeOrderSql(pool: pg.Pool, userId: number, items: Item[]): Promise<string> {
  try {
    await inTransaction(pool, async (client) => {
      const now = new Date();
      await client.query('SELECT id FROM users WHERE id = $1', [userId]);
      const ids = items.map((item) => item.productId).sort((a, b) => a - b);
      const products = await client.query<{ id: string; name: string; price: string; stock: string }>(
        'SELECT * FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
        [ids],
      );
      const byId = new Map(products.rows.map((p) => [Number(p.id), p]));
      const lines = items.map(({ productId, quantity }) => {
        const product = byId.get(productId)!;
        if (Number(product.stock) < quantity) throw new Refused('INSUFFICIENT_STOCK');
        return {
          productId,
          name: product.name,
          quantity,
          unitPrice: Number(product.price),
          amount: Number(product.price) * quantity,
          stock: Number(product.stock) - quantity,
        };
      });
      const total = lines.reduce((sum, line) => sum + line.amount, 0);
      const order = await client.query<{ id: string }>(
        `WITH placed AS (
           INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
           VALUES ($1, 'PAID', $2, 0, $2, NULL, $3) RETURNING id
         ), placed_lines AS (
           INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
           SELECT placed.id, line.line_no, line.product_id, line.name, line.quantity, line.unit_price, line.amount
           FROM placed, unnest($4::int[], $5::bigint[], $6::text[], $7::int[], $8::bigint[], $9::bigint[])
             AS line (line_no, product_id, name, quantity, unit_price, amount)
         ), payment AS (
           INSERT INTO payments (order_id, user_id, amount, paid_at) SELECT placed.id, $1, $2, $3 FROM placed
         )
         SELECT id FROM placed`,
        [
          userId,
          total,
          now,
          lines.map((_, i) => i + 1),
          lines.map((l) => l.productId),
          lines.map((l) => l.name),
          lines.map((l) => l.quantity),
          lines.map((l) => l.unitPrice),
          lines.map((l) => l.amount),
        ],
      );
      const orderId = Number(order.rows[0]!.id);
      const balance = await client.query<{ amount: string }>('SELECT * FROM balances WHERE user_id = $1 FOR UPDATE', [
        userId,
      ]);
      const after = Number(balance.rows[0]!.amount) - total;
      if (after < 0) throw new Refused('INSUFFICIENT_BALANCE');
      await client.query(
        `WITH updated AS (UPDATE balances SET amount = $1, updated_at = $2 WHERE user_id = $3 RETURNING user_id)
         INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
         SELECT user_id, 'PAYMENT', $4, $1, $5, $2 FROM updated RETURNING *`,
        [after, now, userId, -total, orderId],
      );
      await client.query(
        `UPDATE products SET stock = sold.stock, updated_at = $1
         FROM unnest($2::bigint[], $3::bigint[]) AS sold (id, stock) WHERE products.id = sold.id`,
        [now, lines.map((l) => l.productId), lines.map((l) => l.stock)],
      );
      await client.query(
        'INSERT INTO data_platform_outbox (order_id, payload, next_attempt_at, created_at) VALUES ($1, $2, $3, $3)',
        [
          orderId,
          JSON.stringify({
            orderId,
            userId,
            items: lines,
            totalAmount: total,
            discountAmount: 0,
            paidAmount: total,
            paidAt: now.toISOString(),
          }),
          now,
        ],
      );
      const sold = [...lines].sort((a, b) => a.productId - b.productId);
      await client.query(
        `INSERT INTO product_daily_sales (sales_date, product_id, quantity)
         SELECT $1::date, sold.product_id, sold.quantity FROM unnest($2::bigint[], $3::bigint[]) AS sold (product_id, quantity)
         ON CONFLICT (sales_date, product_id) DO UPDATE SET quantity = product_daily_sales.quantity + excluded.quantity`,
        [localDateOf(now, TIME_ZONE), sold.map((l) => l.productId), sold.map((l) => l.quantity)],
      );
    });
    return 'PAID';
  } catch (error) {
    if (error instanceof Refused) return error.message;
    return `SQL_ERROR ${(error as Error).message}`;
  }
}

async function createProducts(pool: pg.Pool, count: number, stock: number, prefix: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH made AS (
       INSERT INTO products (name, price, stock, created_at, updated_at)
       SELECT $3 || n, 1000 + n % 50 * 100, $2, now(), now() FROM generate_series(1, $1::int) AS n RETURNING id, stock
     ), initial AS (
       INSERT INTO stock_adjustments (product_id, delta, reason, created_at) SELECT id, stock, 'INITIAL', now() FROM made
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
     FROM products p LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s ON s.product_id = p.id
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
    place: (userId: number, items: Item[]) => Promise<string>,
  ) {
    const products = await createProducts(context.pg, productCount, stock, `${name} ${label} `);
    const buyers = await fundedBuyers(context.pg, `${name} ${label} `);
    const run = await runLoad(`${name} (${label})`, ORDERS, context.concurrency, (i) =>
      place(buyers[i % buyers.length]!, plan(products, i)),
    );
    const placed = run.samples.filter((s) => s.value === 'PAID');
    const check = await stockCheck(context.pg, products, stock);
    return { run, placed, check, stats: statsOf(placed, Math.max(...placed.map((s) => s.doneAt))) };
  }

  return {
    name,
    description,
    async run(context) {
      const service = await runOn(context, 'service', async (userId, items) =>
        outcomeOf(await context.http.request('POST', '/api/v1/orders', { userId, items }), 201, 'PAID'),
      );
      const ceiling = await runOn(context, 'ceiling: pg', (userId, items) => placeOrderSql(context.pg, userId, items));
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
