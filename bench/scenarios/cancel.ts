import type pg from 'pg';
import { type Row, cpuSplitUntil, row, runLoad, scaled, statsOf } from '../harness.js';
import { type CancelRetries, cancelAtLimit } from './cancel.limit.js';
import { issueAtLimit } from './coupon-storm.limit.js';
import type { OrderItem } from './orders.limit.js';
import { createProducts } from './orders.js';
import {
  type Scenario,
  type ScenarioContext,
  actingAs,
  insertUsers,
  outcomeOf,
  outcomeOfCall,
  tally,
} from './scenario.js';

const ORDERS = scaled(3_000, 30);
const BUYERS = scaled(1_000, 10);
const PRODUCTS = 50;
const STOCK = 1_000_000;
const FUNDS = 100_000_000;
/** Each buyer's first order has a copy of a campaign of this many percent off, so refunds share a discount. */
const PERCENT_OFF = 7;

/**
 * What happens to order i, by i mod 4. Its lines are 3 units of A and 1 of B, and its requests are sent one
 * after the other, so those of one order are in flight together:
 * - full: everything, once;
 * - partial: one unit of A;
 * - contended: one unit of A, one of B, then three more of A: five at once on one order's row, of which
 *   exactly one (a fourth unit of A) is refused ORDER_NOT_CANCELLABLE, whatever their order;
 * - twice: everything, twice at once: one cancels, the other finds nothing left (ORDER_NOT_CANCELLABLE).
 */
const KINDS = {
  full: { status: 'CANCELLED', cancellations: 1, refused: 0, units: 4 },
  partial: { status: 'PARTIALLY_CANCELLED', cancellations: 1, refused: 0, units: 1 },
  contended: { status: 'CANCELLED', cancellations: 4, refused: 1, units: 4 },
  twice: { status: 'CANCELLED', cancellations: 1, refused: 1, units: 4 },
} as const;
type Kind = keyof typeof KINDS;
const kindOf = (i: number): Kind => (['full', 'partial', 'contended', 'twice'] as const)[i % 4]!;

/** Order i's lines: the same plan for the service, the ceiling and the limit. */
const linesOf = (products: number[], i: number): OrderItem[] => [
  { productId: products[i % products.length]!, quantity: 3 },
  { productId: products[(i + 1 + (i % 7)) % products.length]!, quantity: 1 },
];

/** One cancellation: one unit of the order's line `line` (0 is A, 1 is B), or everything left. */
interface Request {
  readonly order: number;
  readonly line?: 0 | 1;
}

/** Order i's cancellations. */
function requestsOf(order: number): Request[] {
  switch (kindOf(order)) {
    case 'full':
      return [{ order }];
    case 'partial':
      return [{ order, line: 0 }];
    case 'contended':
      return [0, 1, 0, 0, 0].map((line) => ({ order, line: line as 0 | 1 }));
    case 'twice':
      return [{ order }, { order }];
  }
}

/** Every request, in the order they are sent: an order's are next to each other, so in flight together. */
const PLAN: Request[] = Array.from({ length: ORDERS }, (_, order) => requestsOf(order)).flat();
const EXPECTED = Array.from({ length: ORDERS }, (_, i) => KINDS[kindOf(i)]).reduce(
  (sum, kind) => ({ cancelled: sum.cancelled + kind.cancellations, refused: sum.refused + kind.refused }),
  { cancelled: 0, refused: 0 },
);

interface Prepared {
  readonly products: number[];
  readonly buyers: number[];
  readonly tokens: string[];
  /** Order i's id. */
  readonly orders: number[];
  readonly lines: OrderItem[][];
}

/**
 * A run's own data: products, funded buyers with a coupon copy each, and ORDERS paid orders placed by the
 * service's PlaceOrder in this process (each buyer with their own token, the first order of each with the
 * copy), so what is cancelled is what the service made.
 */
async function prepare(context: ScenarioContext, label: string): Promise<Prepared> {
  const prefix = `cancel ${label} `;
  const products = await createProducts(context.pg, PRODUCTS, STOCK, prefix);
  const buyers = await insertUsers(context.pg, BUYERS, prefix);
  await context.pg.query('UPDATE balances SET amount = $1 WHERE user_id = ANY($2::bigint[])', [FUNDS, buyers]);
  const tokens = await context.auth.tokensFor(buyers);
  const { rows: campaign } = await context.pg.query<{ id: string }>(
    `INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_days, created_at)
     VALUES ($1, 'PERCENT', $2, $3, 7, now()) RETURNING id`,
    [prefix, PERCENT_OFF, BUYERS],
  );
  const couponId = Number(campaign[0]!.id);
  const issued = await runLoad(`cancel (${label}): copies`, BUYERS, context.concurrency, (i) =>
    issueAtLimit(context.pg, couponId, buyers[i]!),
  );
  const notIssued = issued.samples.filter((s) => s.value !== 'ISSUED').length;
  if (notIssued > 0) throw new Error(`cancel (${label}): ${notIssued} coupon copies not issued`);
  const { rows: copies } = await context.pg.query<{ id: string; user_id: string }>(
    'SELECT id, user_id FROM user_coupons WHERE coupon_id = $1',
    [couponId],
  );
  const copyOf = new Map(copies.map((copy) => [Number(copy.user_id), Number(copy.id)]));

  const lines = Array.from({ length: ORDERS }, (_, i) => linesOf(products, i));
  const { placeOrder } = context.ceiling.useCases;
  const placed = await runLoad(`cancel (${label}): orders`, ORDERS, context.concurrency, async (i) => {
    const userId = buyers[i % BUYERS]!;
    const order = await actingAs(context.ceiling, tokens[i % BUYERS]!, (actor) =>
      placeOrder.execute({
        actor,
        userId,
        items: lines[i]!,
        userCouponId: i < BUYERS ? copyOf.get(userId) : undefined,
      }),
    );
    return order.id;
  });
  return { products, buyers, tokens, orders: placed.samples.map((s) => s.value), lines };
}

/** Every order as planned and its refunds by the formula, in the ledger, the outbox and the copies. */
async function ordersCheck(pool: pg.Pool, { orders }: Prepared) {
  const kinds = orders.map((_, i) => KINDS[kindOf(i)]);
  const { rows } = await pool.query<Record<string, string>>(
    `WITH planned AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[]) AS e (order_id, status, cancellations, units)
     ), made AS (
       SELECT order_id, count(*) AS cancellations, sum(refund_amount) AS refunded,
              count(*) FILTER (WHERE refund_amount > 0) AS paying
       FROM order_cancellations WHERE order_id = ANY($1::bigint[]) GROUP BY order_id
     ), taken AS (
       SELECT order_id, sum(quantity) AS units, sum(amount) AS gross
       FROM order_cancellation_lines WHERE order_id = ANY($1::bigint[]) GROUP BY order_id
     ), past AS (
       SELECT l.order_id, count(*) AS lines
       FROM order_lines l
       JOIN (SELECT order_id, product_id, sum(quantity) AS quantity FROM order_cancellation_lines
             WHERE order_id = ANY($1::bigint[]) GROUP BY 1, 2) x ON x.order_id = l.order_id AND x.product_id = l.product_id
       WHERE x.quantity > l.quantity GROUP BY l.order_id
     ), ledger AS (
       SELECT order_id, sum(amount) AS refunded, count(*) AS entries
       FROM balance_ledger WHERE type = 'REFUND' AND order_id = ANY($1::bigint[]) GROUP BY order_id
     ), events AS (
       SELECT e.order_id, count(*) AS events,
              count(*) FILTER (WHERE c.order_id = e.order_id AND (e.payload ->> 'orderId')::bigint = e.order_id
                AND (e.payload ->> 'refundAmount')::bigint = c.refund_amount
                AND (SELECT sum((i ->> 'quantity')::int) FROM jsonb_array_elements(e.payload -> 'items') i)
                    = (SELECT sum(quantity) FROM order_cancellation_lines WHERE cancellation_id = c.id)) AS matching
       FROM data_platform_outbox e LEFT JOIN order_cancellations c ON c.id = e.cancellation_id
       WHERE e.type = 'ORDER_CANCELLED' AND e.order_id = ANY($1::bigint[]) GROUP BY e.order_id
     )
     SELECT count(o.id) AS orders,
            count(*) FILTER (WHERE coalesce(m.refunded, 0) <> CASE WHEN o.total_amount = 0 THEN 0
                               ELSE div(o.paid_amount::numeric * coalesce(t.gross, 0), o.total_amount) END
                             OR coalesce(m.refunded, 0) > o.paid_amount) AS "refundsOff",
            count(*) FILTER (WHERE o.status IS DISTINCT FROM p.status OR coalesce(m.cancellations, 0) <> p.cancellations
                               OR coalesce(t.units, 0) <> p.units OR x.lines IS NOT NULL) AS "notAsPlanned",
            count(*) FILTER (WHERE coalesce(g.refunded, 0) <> coalesce(m.refunded, 0)
                               OR coalesce(g.entries, 0) <> coalesce(m.paying, 0)) AS "ledgerOff",
            count(*) FILTER (WHERE coalesce(v.events, 0) <> coalesce(m.cancellations, 0)
                               OR coalesce(v.matching, 0) <> coalesce(m.cancellations, 0)) AS "outboxOff",
            count(*) FILTER (WHERE o.user_coupon_id IS NOT NULL
                               AND (u.order_id IS NOT DISTINCT FROM o.id) = (o.status = 'CANCELLED')) AS "copiesOff",
            count(*) FILTER (WHERE o.paid_amount < o.total_amount) AS discounted,
            count(*) FILTER (WHERE o.user_coupon_id IS NOT NULL AND o.status = 'CANCELLED') AS freed,
            coalesce(sum(m.cancellations), 0) AS cancellations,
            coalesce(sum(m.refunded), 0) AS refunded
     FROM planned p
     LEFT JOIN orders o ON o.id = p.order_id
     LEFT JOIN made m ON m.order_id = p.order_id
     LEFT JOIN taken t ON t.order_id = p.order_id
     LEFT JOIN past x ON x.order_id = p.order_id
     LEFT JOIN ledger g ON g.order_id = p.order_id
     LEFT JOIN events v ON v.order_id = p.order_id
     LEFT JOIN user_coupons u ON u.id = o.user_coupon_id`,
    [orders, kinds.map((k) => k.status), kinds.map((k) => k.cancellations), kinds.map((k) => k.units)],
  );
  const r = rows[0]!;
  const count = (key: string) => Number(r[key]);
  const problems: string[] = [];
  if (count('orders') !== ORDERS) problems.push(`${r.orders} orders of ${ORDERS}`);
  for (const [key, what] of [
    ['refundsOff', 'orders whose refunds are not floor(paid·C/total) ≤ paid'],
    ['notAsPlanned', 'orders not cancelled as planned (status, cancellations, units, a line past its quantity)'],
    ['ledgerOff', 'orders whose REFUND entries disagree with their refunds'],
    ['outboxOff', 'orders without one matching ORDER_CANCELLED row per cancellation'],
    ['copiesOff', 'coupon copies not freed by exactly the fully cancelled orders'],
  ] as const)
    if (count(key) > 0) problems.push(`${r[key]} ${what}`);
  if (count('discounted') === 0) problems.push('no order had a discount');
  return { problems, cancellations: count('cancellations'), freed: count('freed'), refunded: count('refunded') };
}

/** Stock, rollup and balances: stock + sold − cancelled = initial; the rollup = sold − cancelled, per day. */
async function booksCheck(pool: pg.Pool, timeZone: string, { products, buyers }: Prepared): Promise<string[]> {
  const { rows } = await pool.query<Record<'stockOff' | 'adjustmentsOff' | 'rollupOff' | 'balancesOff', string>>(
    `WITH sold AS (
       SELECT product_id, sum(quantity) AS units FROM order_lines WHERE product_id = ANY($1::bigint[]) GROUP BY 1
     ), cancelled AS (
       SELECT product_id, sum(quantity) AS units FROM order_cancellation_lines WHERE product_id = ANY($1::bigint[])
       GROUP BY 1
     ), restored AS (
       SELECT product_id, sum(delta) AS units, count(*) FILTER (WHERE cancellation_id IS NULL) AS unlinked
       FROM stock_adjustments WHERE reason = 'CANCELLATION' AND product_id = ANY($1::bigint[]) GROUP BY 1
     ), moved AS (
       SELECT (o.created_at AT TIME ZONE $5::text)::date AS day, l.product_id, sum(l.quantity) AS units
       FROM (SELECT order_id, product_id, quantity FROM order_lines WHERE product_id = ANY($1::bigint[])
             UNION ALL
             SELECT order_id, product_id, -quantity FROM order_cancellation_lines WHERE product_id = ANY($1::bigint[])) l
       JOIN orders o ON o.id = l.order_id
       GROUP BY 1, 2
     ), rollup AS (
       SELECT sales_date AS day, product_id, quantity AS units FROM product_daily_sales_live WHERE product_id = ANY($1::bigint[])
     )
     SELECT
       (SELECT count(*) FROM products p LEFT JOIN sold s ON s.product_id = p.id LEFT JOIN cancelled c ON c.product_id = p.id
        WHERE p.id = ANY($1::bigint[]) AND p.stock + coalesce(s.units, 0) - coalesce(c.units, 0) <> $3) AS "stockOff",
       (SELECT count(*) FROM products p LEFT JOIN cancelled c ON c.product_id = p.id
        LEFT JOIN restored r ON r.product_id = p.id
        WHERE p.id = ANY($1::bigint[]) AND (coalesce(r.units, 0) <> coalesce(c.units, 0) OR r.unlinked > 0))
         AS "adjustmentsOff",
       (SELECT count(*) FROM moved m FULL JOIN rollup r ON r.day = m.day AND r.product_id = m.product_id
        WHERE coalesce(m.units, 0) <> coalesce(r.units, 0)) AS "rollupOff",
       (SELECT count(*) FROM balances b
        LEFT JOIN (SELECT user_id, sum(amount) AS paid FROM payments WHERE user_id = ANY($2::bigint[]) GROUP BY 1) p
          ON p.user_id = b.user_id
        LEFT JOIN (SELECT o.user_id, sum(c.refund_amount) AS refunded FROM order_cancellations c
                   JOIN orders o ON o.id = c.order_id WHERE o.user_id = ANY($2::bigint[]) GROUP BY 1) r
          ON r.user_id = b.user_id
        LEFT JOIN LATERAL (SELECT balance_after FROM balance_ledger l WHERE l.user_id = b.user_id ORDER BY id DESC LIMIT 1)
          l ON true
        WHERE b.user_id = ANY($2::bigint[])
          AND (b.amount <> $4 - coalesce(p.paid, 0) + coalesce(r.refunded, 0) OR coalesce(l.balance_after, $4) <> b.amount))
         AS "balancesOff"`,
    [products, buyers, STOCK, FUNDS, timeZone],
  );
  const r = rows[0]!;
  const problems: string[] = [];
  if (Number(r.stockOff) > 0) problems.push(`stock+sold−cancelled=initial off for ${r.stockOff} products`);
  if (Number(r.adjustmentsOff) > 0) problems.push(`CANCELLATION adjustments off for ${r.adjustmentsOff} products`);
  if (Number(r.rollupOff) > 0) problems.push(`rollup ≠ sold − cancelled on ${r.rollupOff} days × products`);
  if (Number(r.balancesOff) > 0)
    problems.push(`${r.balancesOff} balances ≠ funds − payments + refunds or their ledger`);
  return problems;
}

async function runOn(
  context: ScenarioContext,
  label: string,
  cancel: (prepared: Prepared, request: Request) => Promise<string>,
  cpu?: () => number,
) {
  const prepared = await prepare(context, label);
  const run = await runLoad(
    `cancel (${label})`,
    PLAN.length,
    context.concurrency,
    (i) => cancel(prepared, PLAN[i]!),
    cpu ? { cpu } : {},
  );
  const answers = tally(run.samples.map((s) => s.value));
  const cancelled = run.samples.filter((s) => s.value === 'CANCELLED');
  const refused = answers.ORDER_NOT_CANCELLABLE ?? 0;
  const unexpected = PLAN.length - cancelled.length - refused;
  const check = await ordersCheck(context.pg, prepared);
  const problems = [...check.problems, ...(await booksCheck(context.pg, context.timeZone, prepared))];
  if (cancelled.length !== EXPECTED.cancelled) problems.push(`${cancelled.length} cancelled of ${EXPECTED.cancelled}`);
  if (refused !== EXPECTED.refused) problems.push(`${refused} refused of ${EXPECTED.refused} planned`);
  if (check.cancellations !== cancelled.length)
    problems.push(`${check.cancellations} cancellations stored for ${cancelled.length} answered`);
  if (unexpected > 0)
    problems.push(
      `unexpected answers: ${Object.entries(answers)
        .filter(([key]) => key !== 'CANCELLED' && key !== 'ORDER_NOT_CANCELLABLE')
        .map(([key, n]) => `${n} ${key}`)
        .join(', ')}`,
    );
  const lastCancelledAt = Math.max(...cancelled.map((s) => s.doneAt));
  const stats = statsOf(cancelled, lastCancelledAt);
  return {
    stats,
    cpuSplit: cpuSplitUntil(run, lastCancelledAt),
    cancelled: cancelled.length,
    refused,
    unexpected,
    check,
    problems,
  };
}

export const cancel: Scenario = {
  name: 'cancel',
  description:
    `${ORDERS} paid orders of 2 lines over ${PRODUCTS} products from ${BUYERS} buyers (each one's first with a ` +
    `${PERCENT_OFF} % coupon), then ${PLAN.length} cancellations: in full, one unit, five at once on one order, ` +
    'in full twice at once',
  async run(context): Promise<Row[]> {
    const path = (prepared: Prepared, request: Request) => `/api/v1/orders/${prepared.orders[request.order]}/cancel`;
    const itemsOf = (prepared: Prepared, { order, line }: Request): OrderItem[] | undefined =>
      line === undefined ? undefined : [{ productId: prepared.lines[order]![line]!.productId, quantity: 1 }];
    const tokenOf = (prepared: Prepared, request: Request) => prepared.tokens[request.order % BUYERS]!;

    const service = await runOn(
      context,
      'service',
      async (prepared, request) => {
        const items = itemsOf(prepared, request);
        return outcomeOf(
          await context.http.request(
            'POST',
            path(prepared, request),
            items === undefined ? undefined : { items },
            tokenOf(prepared, request),
          ),
          200,
          'CANCELLED',
        );
      },
      context.serviceCpuUs,
    );
    const { cancelOrder } = context.ceiling.useCases;
    const ceiling = await runOn(context, 'ceiling: in-process', (prepared, request) =>
      outcomeOfCall(
        actingAs(context.ceiling, tokenOf(prepared, request), (actor) =>
          cancelOrder.execute({ actor, orderId: prepared.orders[request.order]!, items: itemsOf(prepared, request) }),
        ),
        'CANCELLED',
      ),
    );
    const retries: CancelRetries = { count: 0 };
    const limit = await runOn(context, 'limit: one statement', (prepared, request) =>
      cancelAtLimit(context.pg, context.timeZone, prepared.orders[request.order]!, itemsOf(prepared, request), retries),
    );

    const problems = [
      ...service.problems,
      ...ceiling.problems.map((problem) => `ceiling: ${problem}`),
      ...limit.problems.map((problem) => `limit: ${problem}`),
    ];
    return [
      row(
        'cancel',
        service.stats,
        service.unexpected,
        ceiling.stats,
        `${service.cancelled} cancelled and ${service.refused} ORDER_NOT_CANCELLABLE as planned ` +
          `(limit ${limit.cancelled} and ${limit.refused}, ${retries.count} statements sent again on a changed order), ` +
          `${service.check.freed} copies freed, refunds = floor(paid·C/total) ≤ paid, stock+sold−cancelled=initial, ` +
          'balances, ledger, outbox and rollup ' +
          (problems.length === 0 ? 'exact (service, ceiling, limit)' : `NOT: ${problems.join('; ')}`),
        problems.length === 0 && service.unexpected === 0,
        { limit: limit.stats, write: true, cpu: service.cpuSplit, limitCpu: limit.cpuSplit },
      ),
    ];
  },
};
