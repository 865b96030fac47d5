import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { named } from '../limits.js';

/**
 * A coupon copy: a stripe of the campaign with a copy left claimed (one no one holds; when every one with
 * room is held, a second statement waits on one and tries again if it filled), its count guarded by the
 * window, and the copy, in one statement (a second copy for the user fails the unique key and undoes the
 * claim with it). The same work as the service's issue, without HTTP or a token.
 */
export async function issueAtLimit(pool: pg.Pool, couponId: number, userId: number): Promise<string> {
  const open = `(SELECT (issue_starts_at IS NULL OR issue_starts_at <= clock_timestamp())
      AND (issue_ends_at IS NULL OR clock_timestamp() < issue_ends_at) FROM coupons WHERE id = $1)`;
  const claim = (lock: string) => `
    WITH picked AS MATERIALIZED (
      SELECT (SELECT stripe FROM coupon_stripes WHERE coupon_id = $1 AND issued < quantity AND ${open}
              ORDER BY (stripe + $3) % (SELECT least(total_quantity, 32) FROM coupons WHERE id = $1) LIMIT 1 ${lock}) AS stripe
    ), claimed AS (
      UPDATE coupon_stripes SET issued = issued + 1
      WHERE coupon_id = $1 AND issued < quantity AND stripe = (SELECT stripe FROM picked)
      RETURNING coupon_id, stripe
    ), copy AS (
      INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
      SELECT claimed.coupon_id, claimed.stripe, $2, now(), now() + c.valid_days * interval '1 day'
      FROM claimed JOIN coupons c ON c.id = claimed.coupon_id
      RETURNING id
    )
    SELECT (SELECT id FROM copy) AS id, (SELECT stripe FROM picked) AS stripe`;
  const values = [couponId, userId, randomInt(32)];
  try {
    let { rows } = await pool.query<{ id: string | null; stripe: number | null }>(
      named(claim('FOR UPDATE SKIP LOCKED'), values),
    );
    if (rows[0]!.id === null && rows[0]!.stripe === null) {
      do ({ rows } = await pool.query(named(claim(''), values)));
      while (rows[0]!.id === null && rows[0]!.stripe !== null);
    }
    return rows[0]!.id === null ? 'COUPON_SOLD_OUT' : 'ISSUED';
  } catch (error) {
    return `ERROR ${(error as Error).message}`;
  }
}
