import { type RawBuilder, sql } from 'kysely';

/**
 * The global lock order, the same in every use case that takes more than one row: an order's row (a
 * cancellation's), the buyer's coupon copy, the buyer's balance, then products by ascending id. A charge
 * takes only the balance and a coupon issue only a stripe, so nothing waits in a cycle.
 *
 * The buyer's rows as two CTEs to open a WITH with: `copy`, the buyer's coupon copy with its campaign's
 * terms (never the campaign's row, the issuers' hot row; another user's copy reads as none), then `wallet`,
 * the balance. With `lock` both are locked FOR UPDATE in that order: `wallet` reads `copy`, so it is
 * evaluated second, and a statement that goes on to products must read `wallet` before it takes them.
 */
export function buyerRows(
  copyId: RawBuilder<unknown>,
  userId: RawBuilder<unknown>,
  lock: boolean,
): RawBuilder<unknown> {
  return sql`copy AS MATERIALIZED (
        SELECT uc.id, uc.coupon_id, uc.user_id, uc.issued_at, uc.expires_at, uc.used_at, uc.order_id,
               c.name, c.discount_type, c.discount_value
        FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
        WHERE uc.id = ${copyId} AND uc.user_id = ${userId}
        ${lock ? sql`FOR UPDATE OF uc` : sql``}
      ), wallet AS MATERIALIZED (
        SELECT b.amount, b.updated_at FROM balances b
        WHERE b.user_id = ${userId} AND (SELECT count(*) FROM copy) >= 0
        ${lock ? sql`FOR UPDATE OF b` : sql``}
      )`;
}
