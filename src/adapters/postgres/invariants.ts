import { sql } from 'kysely';
import type { Db } from './database.js';

export interface InvariantResult {
  readonly name: string;
  readonly holds: boolean;
  /** How many rows break it (users, products, campaigns, orders or days). */
  readonly violations: number;
  /** A few of them, to start looking. */
  readonly examples: unknown[];
}

interface Invariant {
  readonly name: string;
  /** A query returning one row per violation. */
  readonly violations: (timeZone: string) => ReturnType<typeof sql>;
}

/**
 * What must be true of the shop's data whatever happened: crashes, retries, races. Each is a query for
 * the rows that break it, so a report says where to look, not just that something is wrong.
 */
const INVARIANTS: Invariant[] = [
  {
    name: 'money: per user, charges + refunds = balance + payments, and the payments table agrees with the ledger',
    violations: () => sql`
      SELECT b.user_id, b.amount AS balance, coalesce(l.charged, 0) AS charged, coalesce(l.paid, 0) AS paid_in_ledger,
             coalesce(p.paid, 0) AS paid_in_payments
      FROM balances b
      LEFT JOIN (
        SELECT user_id, sum(amount) FILTER (WHERE type IN ('CHARGE', 'REFUND')) AS charged,
               -sum(amount) FILTER (WHERE type = 'PAYMENT') AS paid
        FROM balance_ledger GROUP BY user_id
      ) l ON l.user_id = b.user_id
      LEFT JOIN (SELECT user_id, sum(amount) AS paid FROM payments GROUP BY user_id) p ON p.user_id = b.user_id
      WHERE coalesce(l.charged, 0) <> b.amount + coalesce(l.paid, 0) OR coalesce(l.paid, 0) <> coalesce(p.paid, 0)`,
  },
  {
    name: 'ledger: replayed in order, every entry carries the running balance and the last one the balance',
    violations: () => sql`
      WITH replay AS (
        SELECT id, user_id, balance_after, sum(amount) OVER (PARTITION BY user_id ORDER BY id) AS running,
               row_number() OVER (PARTITION BY user_id ORDER BY id DESC) AS from_last
        FROM balance_ledger
      )
      SELECT r.user_id, r.id AS entry_id, r.balance_after, r.running, b.amount AS balance
      FROM replay r JOIN balances b ON b.user_id = r.user_id
      WHERE r.balance_after <> r.running OR (r.from_last = 1 AND r.balance_after <> b.amount)`,
  },
  {
    name: 'stock: per product, initial stock + restocks + cancelled units = current stock + units sold',
    violations: () => sql`
      SELECT p.id AS product_id, p.stock, coalesce(a.added, 0) AS added, coalesce(a.restored, 0) AS restored,
             coalesce(c.cancelled, 0) AS cancelled, coalesce(s.sold, 0) AS sold
      FROM products p
      LEFT JOIN (
        SELECT product_id, sum(delta) FILTER (WHERE reason <> 'CANCELLATION') AS added,
               sum(delta) FILTER (WHERE reason = 'CANCELLATION') AS restored
        FROM stock_adjustments GROUP BY product_id
      ) a ON a.product_id = p.id
      LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s ON s.product_id = p.id
      LEFT JOIN (
        SELECT product_id, sum(quantity) AS cancelled FROM order_cancellation_lines GROUP BY product_id
      ) c ON c.product_id = p.id
      WHERE coalesce(a.added, 0) + coalesce(c.cancelled, 0) <> p.stock + coalesce(s.sold, 0)
         OR coalesce(a.restored, 0) <> coalesce(c.cancelled, 0)`,
  },
  {
    name:
      'admin stock: each initial stock and admin adjustment names the product.create or product.update audit entry ' +
      'that made it, for that product and the same change, and each such entry that changed stock has its ' +
      'adjustment (rows from before the audit log, migration 0015, have no entry)',
    // Rows written before migration 0015 name no entry; the migration kept the last of them in
    // audit_log_since, and every INITIAL or ADJUSTMENT row after it must name one. Entries need no
    // boundary: each is from after 0015, and each that changed stock must have its row.
    violations: () => sql`
      WITH audited AS (
        SELECT a.id, a.product_id, a.delta, a.reason, a.audit_entry_id
        FROM stock_adjustments a
        WHERE a.reason IN ('INITIAL', 'ADJUSTMENT')
          AND a.id > (SELECT last_unaudited_adjustment FROM audit_log_since)
      ), stock_entries AS (
        SELECT e.id, e.action, (e.target ->> 'id')::bigint AS product_id,
               CASE e.action WHEN 'product.create' THEN (e.after ->> 'stock')::bigint
                 ELSE (e.after ->> 'stock')::bigint - (e.before ->> 'stock')::bigint END AS delta
        FROM audit_log e
        WHERE e.target ->> 'type' = 'product'
          AND (e.action = 'product.create' OR (e.action = 'product.update' AND e.after ? 'stock'))
      )
      SELECT a.id AS adjustment_id, a.reason, coalesce(a.product_id, e.product_id) AS product_id,
             a.delta AS adjusted, e.id AS audit_entry_id, e.action, e.delta AS audited
      FROM audited a FULL JOIN stock_entries e ON e.id = a.audit_entry_id
      WHERE a.id IS NULL OR e.id IS NULL OR a.product_id <> e.product_id OR a.delta IS DISTINCT FROM e.delta
         OR a.reason <> CASE e.action WHEN 'product.create' THEN 'INITIAL' ELSE 'ADJUSTMENT' END`,
  },
  {
    name:
      'audit log: append-only, its triggers in place and enabled (the service role owns the table, so DDL could ' +
      'disable them)',
    violations: () => sql`
      SELECT expected.name AS trigger, t.tgenabled AS enabled
      FROM (VALUES ('audit_log_append_only'), ('audit_log_no_truncate'), ('audit_log_stamp')) AS expected (name)
      LEFT JOIN pg_trigger t ON t.tgname = expected.name AND t.tgrelid = 'audit_log'::regclass
      WHERE t.tgenabled IS DISTINCT FROM 'O'`,
  },
  {
    name: 'coupons: stripes hold totalQuantity, each counts its copies, copies <= totalQuantity, one per user',
    violations: () => sql`
      SELECT c.id AS coupon_id, c.total_quantity, s.stripes, s.quantity, s.miscounted,
             coalesce(u.copies, 0) AS copies, coalesce(u.holders, 0) AS holders
      FROM coupons c
      LEFT JOIN (
        SELECT st.coupon_id, count(*) AS stripes, sum(st.quantity) AS quantity,
               count(*) FILTER (WHERE st.issued <> coalesce(per.copies, 0)) AS miscounted
        FROM coupon_stripes st
        LEFT JOIN (
          SELECT coupon_id, stripe, count(*) AS copies FROM user_coupons GROUP BY coupon_id, stripe
        ) per ON per.coupon_id = st.coupon_id AND per.stripe = st.stripe
        GROUP BY st.coupon_id
      ) s ON s.coupon_id = c.id
      LEFT JOIN (
        SELECT coupon_id, count(*) AS copies, count(DISTINCT user_id) AS holders FROM user_coupons GROUP BY coupon_id
      ) u ON u.coupon_id = c.id
      WHERE s.quantity IS DISTINCT FROM c.total_quantity OR s.stripes <> least(c.total_quantity, 32)
         OR s.miscounted > 0 OR coalesce(u.copies, 0) > c.total_quantity
         OR coalesce(u.holders, 0) <> coalesce(u.copies, 0)`,
  },
  {
    name: 'orders: each has its payment and PAYMENT entry for paidAmount, its lines add up, its coupon copy names it',
    violations: () => sql`
      SELECT o.id AS order_id, o.total_amount, o.paid_amount, p.amount AS payment, -l.amount AS ledger_payment,
             lines.total AS lines_total, u.order_id AS coupon_order_id
      FROM orders o
      LEFT JOIN payments p ON p.order_id = o.id
      LEFT JOIN balance_ledger l ON l.order_id = o.id AND l.type = 'PAYMENT'
      LEFT JOIN (
        SELECT order_id, sum(amount) AS total FROM order_lines GROUP BY order_id
      ) lines ON lines.order_id = o.id
      LEFT JOIN user_coupons u ON u.id = o.user_coupon_id
      WHERE p.amount IS DISTINCT FROM o.paid_amount OR -l.amount IS DISTINCT FROM o.paid_amount
         OR lines.total IS DISTINCT FROM o.total_amount
         OR (o.user_coupon_id IS NOT NULL AND o.status <> 'CANCELLED' AND u.order_id IS DISTINCT FROM o.id)`,
  },
  {
    name:
      'cancellations: per order, refunds = floor(paid · cancelled value / total) <= paid, each refund in the ledger, ' +
      'no line cancelled past its quantity, the status says what is left, a cancelled order frees its copy',
    violations: () => sql`
      WITH cancelled AS (
        SELECT c.order_id, sum(l.quantity) AS units, sum(l.amount) AS gross
        FROM order_cancellation_lines l JOIN order_cancellations c ON c.id = l.cancellation_id
        GROUP BY c.order_id
      ), refunds AS (
        SELECT order_id, sum(refund_amount) AS refunded, count(*) FILTER (WHERE refund_amount > 0) AS paying
        FROM order_cancellations GROUP BY order_id
      ), ledger AS (
        SELECT order_id, sum(amount) AS refunded, count(*) AS entries
        FROM balance_ledger WHERE type = 'REFUND' GROUP BY order_id
      ), past AS (
        SELECT l.order_id, count(*) AS lines
        FROM order_lines l
        JOIN (
          SELECT order_id, product_id, sum(quantity) AS quantity FROM order_cancellation_lines GROUP BY 1, 2
        ) x ON x.order_id = l.order_id AND x.product_id = l.product_id
        WHERE x.quantity > l.quantity
        GROUP BY l.order_id
      ), units AS (
        SELECT order_id, sum(quantity) AS units FROM order_lines GROUP BY order_id
      )
      SELECT o.id AS order_id, o.status, o.paid_amount, o.total_amount, coalesce(c.gross, 0) AS cancelled_value,
             coalesce(r.refunded, 0) AS refunded, coalesce(g.refunded, 0) AS refunded_in_ledger,
             coalesce(p.lines, 0) AS lines_past_quantity, u.order_id AS copy_order_id
      FROM orders o
      JOIN units n ON n.order_id = o.id
      LEFT JOIN cancelled c ON c.order_id = o.id
      LEFT JOIN refunds r ON r.order_id = o.id
      LEFT JOIN ledger g ON g.order_id = o.id
      LEFT JOIN past p ON p.order_id = o.id
      LEFT JOIN user_coupons u ON u.id = o.user_coupon_id
      WHERE coalesce(r.refunded, 0) <> CASE WHEN o.total_amount = 0 THEN 0
              ELSE floor(o.paid_amount::numeric * coalesce(c.gross, 0) / o.total_amount) END
         OR coalesce(r.refunded, 0) > o.paid_amount
         OR coalesce(g.refunded, 0) <> coalesce(r.refunded, 0) OR coalesce(g.entries, 0) <> coalesce(r.paying, 0)
         OR coalesce(p.lines, 0) > 0
         OR o.status <> CASE WHEN c.units IS NULL THEN 'PAID' WHEN c.units = n.units THEN 'CANCELLED'
              ELSE 'PARTIALLY_CANCELLED' END
         OR (o.status = 'CANCELLED' AND u.order_id = o.id)`,
  },
  {
    name: 'coupons used: a used copy is used by exactly the order that names it',
    violations: () => sql`
      SELECT u.id AS user_coupon_id, u.order_id, o.user_coupon_id AS order_coupon
      FROM user_coupons u LEFT JOIN orders o ON o.id = u.order_id
      WHERE u.order_id IS NOT NULL AND o.user_coupon_id IS DISTINCT FROM u.id`,
  },
  {
    name:
      'outbox: one ORDER_PAID row per order and one ORDER_CANCELLED row per cancellation, of that order, ' +
      'its event carrying the refund the cancellation made',
    violations: () => sql`
      SELECT o.id AS order_id, coalesce(x.paid, 0) AS paid_events, coalesce(k.cancellations, 0) AS cancellations,
             coalesce(x.cancelled, 0) AS cancelled_events, coalesce(x.matching, 0) AS matching_cancelled_events
      FROM orders o
      LEFT JOIN (
        SELECT e.order_id, count(*) FILTER (WHERE e.type = 'ORDER_PAID') AS paid,
               count(*) FILTER (WHERE e.type = 'ORDER_CANCELLED') AS cancelled,
               count(*) FILTER (
                 WHERE e.type = 'ORDER_CANCELLED' AND c.order_id = e.order_id
                   AND (e.payload ->> 'orderId')::bigint = e.order_id
                   AND (e.payload ->> 'refundAmount')::bigint = c.refund_amount
               ) AS matching
        FROM data_platform_outbox e LEFT JOIN order_cancellations c ON c.id = e.cancellation_id
        GROUP BY e.order_id
      ) x ON x.order_id = o.id
      LEFT JOIN (SELECT order_id, count(*) AS cancellations FROM order_cancellations GROUP BY order_id) k
        ON k.order_id = o.id
      WHERE coalesce(x.paid, 0) <> 1 OR coalesce(x.cancelled, 0) <> coalesce(k.cancellations, 0)
         OR coalesce(x.matching, 0) <> coalesce(k.cancellations, 0)`,
  },
  {
    name: 'popular rollup: per shop-local day of sale and product, units in the rollup and not yet folded = units sold - units cancelled',
    violations: (timeZone) => sql`
      WITH moved AS (
        SELECT o.created_at, l.product_id, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id
        UNION ALL
        SELECT o.created_at, l.product_id, -l.quantity
        FROM order_cancellation_lines l JOIN orders o ON o.id = l.order_id
      ), lines AS (
        SELECT (created_at AT TIME ZONE ${timeZone})::date AS day, product_id, sum(quantity) AS quantity
        FROM moved GROUP BY 1, 2
      )
      SELECT coalesce(lines.day, r.sales_date)::text AS day, coalesce(lines.product_id, r.product_id) AS product_id,
             lines.quantity AS in_lines, r.quantity AS in_rollup
      FROM lines FULL JOIN product_daily_sales_live r ON r.sales_date = lines.day AND r.product_id = lines.product_id
      WHERE coalesce(lines.quantity, 0) <> coalesce(r.quantity, 0)`,
  },
  {
    name: 'sessions: a live login has at most one unspent refresh token (every rotation spends the one it replaces)',
    violations: () => sql`
      SELECT t.family_id, count(*) AS unspent
      FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
      WHERE t.spent_at IS NULL AND f.ended_at IS NULL
      GROUP BY t.family_id HAVING count(*) > 1`,
  },
];

const EXAMPLES = 5;

/** Checks every invariant against the database; read-only, one repeatable-read snapshot for all of them. */
export async function checkInvariants(db: Db, timeZone: string): Promise<InvariantResult[]> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      // A check of a large shop may take a while: no statement timeout here, whatever the role's default.
      await sql`SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 0`.execute(trx);
      const results: InvariantResult[] = [];
      for (const invariant of INVARIANTS) {
        const { rows } = await invariant.violations(timeZone).execute(trx);
        results.push({
          name: invariant.name,
          holds: rows.length === 0,
          violations: rows.length,
          examples: rows.slice(0, EXAMPLES),
        });
      }
      return results;
    });
}
