import type pg from 'pg';

export interface GenerateOptions {
  /** Order lines to add. */
  readonly lines: number;
  readonly products?: number;
  readonly users?: number;
  /** Orders are spread evenly over this many days before now. */
  readonly days?: number;
  readonly timeZone?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

const LINES_PER_ORDER = 3;
const CHUNK_LINES = 150_000;

/**
 * Fills the database with paid orders in bulk, server-side (generate_series, one statement per chunk of
 * lines), for benchmarks: orders, their lines and the per-day sales rollup, exactly as PlaceOrder would
 * count them. It writes no payments, ledger entries or outbox rows, so point it at a benchmark database,
 * not at a shop. Product popularity is skewed (a few products sell far more) so the ranking means
 * something. Creates the products and users it needs the first time.
 */
export async function generateOrderLines(pool: pg.Pool, options: GenerateOptions): Promise<{ products: number[] }> {
  const { lines, products = 10_000, users = 10_000, days = 30, timeZone = 'Asia/Seoul', onProgress } = options;
  const productRange = await ensureRange(
    pool,
    'products',
    products,
    `INSERT INTO products (name, price, stock, created_at, updated_at)
     SELECT 'generated product ' || n, 1000 + (n * 37) % 99000, 1000000000, now(), now()
     FROM generate_series(1, $1::int) AS n`,
  );
  const userRange = await ensureRange(
    pool,
    'users',
    users,
    `WITH made AS (
       INSERT INTO users (name, created_at)
       SELECT 'generated user ' || n, now() FROM generate_series(1, $1::int) AS n
       RETURNING id, created_at
     )
     INSERT INTO balances (user_id, amount, updated_at) SELECT id, 0, created_at FROM made`,
  );

  for (let done = 0; done < lines; ) {
    const orders = Math.ceil(Math.min(CHUNK_LINES, lines - done) / LINES_PER_ORDER);
    await pool.query(
      `WITH plan AS MATERIALIZED (
         SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS order_id,
                $3::bigint + floor(random() * $4::int)::bigint AS user_id,
                now() - random() * ($6::int * interval '1 day') AS at,
                floor($2::int * power(random(), 3))::int AS base
         FROM generate_series(1, $1::int)
       ), planned_lines AS MATERIALIZED (
         SELECT plan.order_id, plan.user_id, plan.at, l + 1 AS line_no,
                $5::bigint + (plan.base + l * 3331) % $2::int AS product_id, 1 + floor(random() * 3)::int AS quantity
         FROM plan, generate_series(0, ${LINES_PER_ORDER - 1}) AS l
       ), priced AS MATERIALIZED (
         SELECT planned_lines.*, p.name, p.price FROM planned_lines JOIN products p ON p.id = planned_lines.product_id
       ), placed AS (
         INSERT INTO orders
           (id, user_id, status, total_amount, discount_amount, paid_amount, user_coupon_id, created_at)
         OVERRIDING SYSTEM VALUE
         SELECT order_id, user_id, 'PAID', sum(price * quantity), 0, sum(price * quantity), NULL, at
         FROM priced GROUP BY order_id, user_id, at
       ), placed_lines AS (
         INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price, amount)
         SELECT order_id, line_no, product_id, name, quantity, price, price * quantity FROM priced
       )
       INSERT INTO product_daily_sales (sales_date, product_id, quantity)
       SELECT (at AT TIME ZONE $7)::date, product_id, sum(quantity) FROM priced GROUP BY 1, 2
       ON CONFLICT (sales_date, product_id) DO UPDATE SET quantity = product_daily_sales.quantity + excluded.quantity`,
      [orders, productRange.count, userRange.first, userRange.count, productRange.first, days, timeZone],
    );
    done += orders * LINES_PER_ORDER;
    onProgress?.(Math.min(done, lines), lines);
  }
  await pool.query('ANALYZE orders, order_lines, product_daily_sales');
  return { products: Array.from({ length: productRange.count }, (_, i) => productRange.first + i) };
}

/**
 * The generator's own rows of a table: made in one statement, so their ids are consecutive. Recognised by
 * their names, so a second run reuses them.
 */
async function ensureRange(
  pool: pg.Pool,
  table: 'products' | 'users',
  count: number,
  insert: string,
): Promise<{ first: number; count: number }> {
  const existing = async () =>
    (
      await pool.query<{ first: string | null; n: string }>(
        `SELECT min(id) AS first, count(*) AS n FROM ${table} WHERE name LIKE 'generated %'`,
      )
    ).rows[0]!;
  let found = await existing();
  if (Number(found.n) === 0) {
    await pool.query(insert, [count]);
    found = await existing();
  }
  return { first: Number(found.first), count: Number(found.n) };
}
