import { type Selectable, sql } from 'kysely';
import type {
  CouponIssuer,
  CouponQueries,
  CouponRepository,
  IssueRefusal,
  UserCouponFilter,
} from '../../application/ports/coupon-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Coupon, type CouponDraft } from '../../domain/coupon/coupon.js';
import { UserCoupon, type UserCouponDraft } from '../../domain/coupon/user-coupon.js';
import type { CouponsTable, Db, UserCouponsTable } from './database.js';
import { isForeignKeyViolation, isNotNullViolation, isUniqueViolation } from './pg-errors.js';
import { inCurrentTransaction, readerFor } from './pg-transaction-context.js';

const toCoupon = (row: Selectable<CouponsTable>) =>
  new Coupon({
    id: row.id,
    name: row.name,
    discountType: row.discount_type,
    discountValue: row.discount_value,
    totalQuantity: row.total_quantity,
    issuedQuantity: row.issued_quantity,
    validDays: row.valid_days,
    issueStartsAt: row.issue_starts_at,
    issueEndsAt: row.issue_ends_at,
  });

/** A user_coupons row joined with its campaign's name and discount. */
export const toUserCoupon = (
  row: Selectable<UserCouponsTable> & Pick<Selectable<CouponsTable>, 'name' | 'discount_type' | 'discount_value'>,
) =>
  new UserCoupon({
    id: row.id,
    couponId: row.coupon_id,
    userId: row.user_id,
    name: row.name,
    discountType: row.discount_type,
    discountValue: row.discount_value,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    orderId: row.order_id,
  });

export class PgCouponRepository implements CouponRepository {
  constructor(private readonly db: Db) {}

  async add(draft: CouponDraft, at: Date): Promise<Coupon> {
    const row = await this.db
      .insertInto('coupons')
      .values({
        name: draft.name,
        discount_type: draft.discountType,
        discount_value: draft.discountValue,
        total_quantity: draft.totalQuantity,
        valid_days: draft.validDays,
        issue_starts_at: draft.issueStartsAt,
        issue_ends_at: draft.issueEndsAt,
        created_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCoupon(row);
  }
}

/**
 * A unique violation here means the user already holds a copy; a foreign key one, that there is no such
 * user; a NULL campaign for the copy, that the window had closed by the time the copy was counted.
 */
const ONE_PER_USER = 'user_coupons_one_per_user';
const USER_EXISTS = 'user_coupons_user_id_fkey';
const isClosedMeanwhile = (error: unknown) => isNotNullViolation(error, 'user_coupons', 'coupon_id');

/**
 * The window of the campaign row holds right now, by the database's clock. clock_timestamp(), not now():
 * now() is when the transaction began, before a wait on the campaign's row lock (and, under an
 * Idempotency-Key, before the rest of the request), and the window must hold at the instant of issue.
 */
const WINDOW_OPEN = sql<boolean>`(issue_starts_at IS NULL OR issue_starts_at <= clock_timestamp())
  AND (issue_ends_at IS NULL OR clock_timestamp() < issue_ends_at)`;

export class PgCouponIssuer implements CouponIssuer {
  constructor(private readonly db: Db) {}

  /**
   * One statement, run on its own: the UPDATE counts the copy only while the window is open and a copy is
   * left, and the INSERT stores it only if the UPDATE did. The campaign row is locked from the UPDATE to the
   * statement's own commit inside the server, never across a round trip to this process, so the hot row is
   * held as briefly as PostgreSQL allows. A second copy for the same user fails the unique key, which undoes
   * the count with the rest of the statement, and so does a user that does not exist (the foreign key).
   * The window is judged twice, by the database's clock: in the UPDATE's condition, so that a campaign
   * visibly closed is skipped without a wait on its row lock; and as the copy is counted, in RETURNING, which
   * comes after any such wait (PostgreSQL checks the condition again after one only when the holder changed
   * the row, and a wait can outlast issueEndsAt). Closed by then, the copy gets no campaign, and the NOT NULL
   * violation undoes the count too. (Measured against SELECT … FOR UPDATE then UPDATE in a transaction:
   * `npm run bench -- coupon-storm`. Taking the row lock first in this statement, with SELECT … FOR NO KEY
   * UPDATE, to judge the window once it is held, issued about a third fewer copies a second.) Under an
   * Idempotency-Key it joins that request's transaction instead, so the key and the copy commit together;
   * the campaign row then stays locked until that transaction commits, which is the price of a retry-safe
   * request.
   */
  async issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal> {
    let row: { id: number } | undefined;
    try {
      row = await inCurrentTransaction(this.db, async (db) => {
        const { rows } = await sql<{ id: number }>`
          WITH reserved AS (
            UPDATE coupons SET issued_quantity = issued_quantity + 1
            WHERE id = ${draft.couponId} AND issued_quantity < total_quantity AND ${WINDOW_OPEN}
            RETURNING id, ${WINDOW_OPEN} AS still_open
          )
          INSERT INTO user_coupons (coupon_id, user_id, issued_at, expires_at)
          SELECT CASE WHEN still_open THEN id END, ${draft.userId}::bigint, ${draft.issuedAt}::timestamptz,
            ${draft.expiresAt}::timestamptz
          FROM reserved
          RETURNING id`.execute(db);
        return rows[0];
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_PER_USER)) return 'ALREADY_ISSUED';
      if (isForeignKeyViolation(error, USER_EXISTS)) return 'USER_NOT_FOUND';
      if (isClosedMeanwhile(error)) return 'NOT_ISSUABLE';
      throw error;
    }
    return row ? new UserCoupon({ ...draft, id: row.id, usedAt: null, orderId: null }) : this.refusal(draft);
  }

  /**
   * Why the statement issued nothing, read afresh after it: outside the window, else sold out. Sound because
   * the count only grows and the window never changes: a campaign with copies left now had them during the
   * statement too, so it was the window that refused it (one that has opened since included).
   */
  private async refusal(draft: UserCouponDraft): Promise<IssueRefusal> {
    const row = await readerFor(this.db)
      .selectFrom('coupons')
      .select([WINDOW_OPEN.as('open'), sql<boolean>`issued_quantity >= total_quantity`.as('sold_out')])
      .where('id', '=', draft.couponId)
      .executeTakeFirst();
    return !row || (row.open && row.sold_out) ? 'SOLD_OUT' : 'NOT_ISSUABLE';
  }
}

export class PgCouponQueries implements CouponQueries {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  async findById(couponId: number): Promise<Coupon | undefined> {
    const row = await this.db.selectFrom('coupons').selectAll().where('id', '=', couponId).executeTakeFirst();
    return row && toCoupon(row);
  }

  async listUserCoupons(
    userId: number,
    { status, now }: UserCouponFilter,
    { limit, after }: PageRequest,
  ): Promise<Page<UserCoupon>> {
    let query = this.db
      .selectFrom('user_coupons as uc')
      .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
      .selectAll('uc')
      .select(['c.name', 'c.discount_type', 'c.discount_value'])
      .where('uc.user_id', '=', userId);
    if (status === 'USED') query = query.where('uc.used_at', 'is not', null);
    if (status === 'AVAILABLE') query = query.where('uc.used_at', 'is', null).where('uc.expires_at', '>', now);
    if (status === 'EXPIRED') query = query.where('uc.used_at', 'is', null).where('uc.expires_at', '<=', now);
    if (after !== undefined) query = query.where('uc.id', '<', after);
    const rows = await query
      .orderBy('uc.id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toUserCoupon), limit, (coupon) => coupon.id);
  }
}
