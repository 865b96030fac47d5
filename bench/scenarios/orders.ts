import type pg from 'pg';
import { type Row, cpuSplitUntil, row, runLoad, scaled, statsOf } from '../harness.js';
import { placeOrderAtLimit, takeStockAtLimit } from './orders.limit.js';
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
/** Issue 20's targets: service ÷ limit and service ÷ one-row. */
const TARGETS: Record<string, { limitTarget: number; target: number }> = {
  'order-hot': { limitTarget: 0.9, target: 0.3 },
  'order-spread': { limitTarget: 0.8, target: 0.2 },
};

interface Item {
  productId: number;
  quantity: number;
}

/**
 * Products loaded in bulk as the shop's own seeding would make them: each with its product.create audit entry
 * and its initial stock naming it, so `npm run check` holds on a bench database too.
 */
export async function createProducts(pool: pg.Pool, count: number, stock: number, prefix: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH made AS (
       INSERT INTO products (name, price, stock, created_at, updated_at)
       SELECT $3 || n, 1000 + n % 50 * 100, $2, now(), now() FROM generate_series(1, $1::int) AS n
       RETURNING id, name, price, stock
     ), entries AS (
       INSERT INTO audit_log (action, target, after, request_id)
       SELECT 'product.create', jsonb_build_object('type', 'product', 'id', id),
              jsonb_build_object('name', name, 'price', price, 'stock', stock), 'bench-load'
       FROM made
       RETURNING id, (target ->> 'id')::bigint AS product_id, (after ->> 'stock')::bigint AS stock
     ), initial AS (
       INSERT INTO stock_adjustments (product_id, delta, reason, audit_entry_id, created_at)
       SELECT product_id, stock, 'INITIAL', id, now() FROM entries
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
  const { rows } = await pool.query<{ oversold: string; mismatched: string; sold: string; rollup: string }>(
    `SELECT count(*) FILTER (WHERE p.stock < 0 OR coalesce(s.sold, 0) > $2) AS oversold,
            count(*) FILTER (WHERE p.stock + coalesce(s.sold, 0) <> $2) AS mismatched,
            coalesce(sum(s.sold), 0) AS sold,
            (SELECT coalesce(sum(quantity), 0) FROM product_daily_sales_live WHERE product_id = ANY($1::bigint[])) AS rollup
     FROM products p
     LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s ON s.product_id = p.id
     WHERE p.id = ANY($1::bigint[])`,
    [productIds, initialStock],
  );
  const r = rows[0]!;
  return {
    oversold: Number(r.oversold),
    mismatched: Number(r.mismatched),
    sold: Number(r.sold),
    rollup: Number(r.rollup),
  };
}

/**
 * The buyers' books: each balance is its funds less what its orders paid, and its last ledger entry says
 * so; every order has its payment, its ledger entry and its outbox event.
 */
async function booksCheck(pool: pg.Pool, buyers: number[], placed: number): Promise<string[]> {
  const { rows } = await pool.query<Record<'balancesOff' | 'orders' | 'payments' | 'entries' | 'events', string>>(
    `SELECT
       (SELECT count(*) FROM balances b
        LEFT JOIN (SELECT user_id, sum(amount) AS paid FROM payments GROUP BY user_id) p ON p.user_id = b.user_id
        LEFT JOIN LATERAL (SELECT balance_after FROM balance_ledger l WHERE l.user_id = b.user_id ORDER BY id DESC LIMIT 1)
          l ON true
        WHERE b.user_id = ANY($1::bigint[])
          AND (b.amount + coalesce(p.paid, 0) <> $2 OR coalesce(l.balance_after, $2) <> b.amount)) AS "balancesOff",
       (SELECT count(*) FROM orders WHERE user_id = ANY($1::bigint[])) AS orders,
       (SELECT count(*) FROM payments WHERE user_id = ANY($1::bigint[])) AS payments,
       (SELECT count(*) FROM balance_ledger WHERE user_id = ANY($1::bigint[]) AND type = 'PAYMENT') AS entries,
       (SELECT count(*) FROM data_platform_outbox e JOIN orders o ON o.id = e.order_id
        WHERE o.user_id = ANY($1::bigint[])) AS events`,
    [buyers, FUNDS],
  );
  const r = rows[0]!;
  const problems: string[] = [];
  if (Number(r.balancesOff) > 0) problems.push(`${r.balancesOff} balances off their payments or ledger`);
  for (const [what, count] of Object.entries({
    orders: r.orders,
    payments: r.payments,
    entries: r.entries,
    events: r.events,
  }))
    if (Number(count) !== placed) problems.push(`${count} ${what} for ${placed} paid`);
  return problems;
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
    cpu?: () => number,
  ) {
    const products = await createProducts(context.pg, productCount, stock, `${name} ${label} `);
    const buyers = await fundedBuyers(context.pg, `${name} ${label} `);
    // Each buyer orders for themselves, with their own token.
    const tokens = await context.auth.tokensFor(buyers);
    const run = await runLoad(
      `${name} (${label})`,
      ORDERS,
      context.concurrency,
      (i) => place(buyers[i % buyers.length]!, tokens[i % buyers.length]!, plan(products, i)),
      cpu ? { cpu } : {},
    );
    const placed = run.samples.filter((s) => s.value === 'PAID');
    const check = await stockCheck(context.pg, products, stock);
    const problems = await booksCheck(context.pg, buyers, placed.length);
    if (check.oversold > 0) problems.push(`oversold ${check.oversold}`);
    if (check.mismatched > 0) problems.push(`stock+sold=initial off for ${check.mismatched} products`);
    if (check.rollup !== check.sold) problems.push(`rollup ${check.rollup} of ${check.sold} units sold`);
    const lastPaidAt = Math.max(...placed.map((s) => s.doneAt));
    return {
      run,
      placed,
      check,
      problems,
      stats: statsOf(placed, lastPaidAt),
      cpu: cpuSplitUntil(run, lastPaidAt),
    };
  }

  /** The hot product's row alone, taken with its guard (order-hot only): the same plan, nothing else written. */
  async function stockRowAlone(context: ScenarioContext): Promise<Row> {
    const products = await createProducts(context.pg, productCount, stock, `${name} stock row `);
    const run = await runLoad(`${name} (pg: stock row alone)`, ORDERS, context.concurrency, (i) => {
      const [item] = plan(products, i);
      return takeStockAtLimit(context.pg, item!.productId, item!.quantity);
    });
    const taken = run.samples.filter((s) => s.value === 'PAID');
    const units = run.samples.reduce(
      (sum, s, i) => (s.value === 'PAID' ? sum + plan(products, i)[0]!.quantity : sum),
      0,
    );
    const { rows } = await context.pg.query<{ stock: string }>('SELECT stock FROM products WHERE id = $1', [
      products[0],
    ]);
    const left = Number(rows[0]!.stock);
    const errors = run.samples.filter((s) => s.value !== 'PAID' && s.value !== 'INSUFFICIENT_STOCK').length;
    const exact = left >= 0 && left + units === stock && errors === 0;
    return row(
      `${name}: stock row alone (pg)`,
      statsOf(taken, Math.max(...taken.map((s) => s.doneAt))),
      errors,
      null,
      `guarded UPDATE … RETURNING; ${taken.length} taken, stock ${left} + ${units} units = ${left + units} of ${stock}`,
      exact,
      { write: true },
    );
  }

  return {
    name,
    description,
    async run(context) {
      const service = await runOn(
        context,
        'service',
        async (userId, token, items) =>
          outcomeOf(await context.http.request('POST', '/api/v1/orders', { userId, items }, token), 201, 'PAID'),
        context.serviceCpuUs,
      );
      const { placeOrder } = context.ceiling.useCases;
      const ceiling = await runOn(context, 'ceiling: in-process', (userId, token, items) =>
        outcomeOfCall(
          actingAs(context.ceiling, token, (actor) => placeOrder.execute({ actor, userId, items })),
          'PAID',
        ),
      );
      const limit = await runOn(context, 'limit: one statement', (userId, _token, items) =>
        placeOrderAtLimit(context.pg, context.timeZone, userId, items),
      );
      const expectedRefusal = stock < ORDERS * 3 ? ['INSUFFICIENT_STOCK'] : [];
      const unexpectedOf = (run: typeof service) =>
        Object.entries(tally(run.run.samples.map((s) => s.value))).filter(
          ([key]) => key !== 'PAID' && !expectedRefusal.includes(key),
        );
      const unexpected = (run: typeof service) => unexpectedOf(run).reduce((sum, [, count]) => sum + count, 0);
      // Names the answers too (an error's message), so a failed check can be told apart without a rerun.
      const unexpectedProblem = (label: string, run: typeof service) =>
        unexpected(run) === 0
          ? []
          : [
              `${label}: ${unexpected(run)} unexpected answers (` +
                unexpectedOf(run)
                  .map(([key, count]) => `${key.slice(0, 80)} ×${count}`)
                  .join('; ') +
                ')',
            ];
      const errors = unexpected(service);
      const others = [
        ...ceiling.problems.map((problem) => `ceiling: ${problem}`),
        ...limit.problems.map((problem) => `limit: ${problem}`),
        ...unexpectedProblem('ceiling', ceiling),
        ...unexpectedProblem('limit', limit),
      ];
      const problems = [...service.problems, ...others];
      const rows = [
        row(
          name,
          service.stats,
          errors,
          ceiling.stats,
          `${service.placed.length} paid (limit ${limit.placed.length}), oversold ${service.check.oversold}, ` +
            `stock+sold=initial off for ${service.check.mismatched} products, balances, ledger, outbox and rollup ` +
            (problems.length === 0 ? 'exact (service, ceiling, limit)' : `NOT: ${problems.join('; ')}`),
          problems.length === 0 && errors === 0,
          { limit: limit.stats, ...TARGETS[name], write: true, cpu: service.cpu, limitCpu: limit.cpu },
        ),
      ];
      if (productCount === 1) rows.push(await stockRowAlone(context));
      return rows;
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
