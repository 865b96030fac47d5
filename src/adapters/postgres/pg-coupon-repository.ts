import { randomInt } from 'node:crypto';
import { type Expression, type RawBuilder, type Selectable, sql } from 'kysely';
import { STRIPES } from '../../../migrations/0006-coupon-stripes.js';
import type {
  CouponIssuer,
  CouponQueries,
  CouponRepository,
  IssueRefusal,
  UserCouponFilter,
} from '../../application/ports/coupon-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Coupon, type CouponDraft, type DiscountType } from '../../domain/coupon/coupon.js';
import { UserCoupon, type UserCouponDraft } from '../../domain/coupon/user-coupon.js';
import { type Db, prepared } from './database.js';
import { isCheckViolation, isForeignKeyViolation, isUniqueViolation } from './pg-errors.js';
import { inCurrentTransaction, readerFor } from './pg-transaction-context.js';
import type { CouponsTable, UserCouponsTable } from './tables.js';

const toCoupon = (row: Selectable<CouponsTable> & { issued_quantity: number }) =>
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
const toUserCoupon = (
  row: Omit<Selectable<UserCouponsTable>, 'stripe'> &
    Pick<Selectable<CouponsTable>, 'name' | 'discount_type' | 'discount_value'>,
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

/** A copy with its campaign's name and discount as `row_to_json` gives it (timestamps as strings). */
export interface CopyJson {
  id: number;
  coupon_id: number;
  user_id: number;
  issued_at: string;
  expires_at: string;
  used_at: string | null;
  order_id: number | null;
  name: string;
  discount_type: DiscountType;
  discount_value: number;
}

export const copyFromJson = (copy: CopyJson) =>
  toUserCoupon({
    ...copy,
    issued_at: new Date(copy.issued_at),
    expires_at: new Date(copy.expires_at),
    used_at: copy.used_at === null ? null : new Date(copy.used_at),
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
    // The database has split it into stripes, none issued yet (migration 0006's trigger).
    return toCoupon({ ...row, issued_quantity: 0 });
  }
}

/**
 * A unique violation here means the user already holds a copy; a foreign key one, that there is no such
 * user; the window's check (migration 0011's trigger), that the window had closed by the time the copy was in.
 */
const ONE_PER_USER = 'user_coupons_one_per_user';
const USER_EXISTS = 'user_coupons_user_id_fkey';
const IN_WINDOW = 'user_coupons_issued_in_window';

/**
 * The window of the campaign row holds right now, by the database's clock. clock_timestamp(), not now():
 * now() is when the transaction began, before a wait on a stripe's row lock (and, under an Idempotency-Key,
 * before the rest of the request), and the window must hold at the instant of issue.
 */
const WINDOW_OPEN = sql<boolean>`(issue_starts_at IS NULL OR issue_starts_at <= clock_timestamp())
  AND (issue_ends_at IS NULL OR clock_timestamp() < issue_ends_at)`;

const openNow = (couponId: number) => sql<boolean>`(SELECT ${WINDOW_OPEN} FROM coupons WHERE id = ${couponId})`;

/** A campaign's issuedQuantity: the sum of its stripes, in the statement's one snapshot. */
const issuedOf = (couponId: Expression<number>) =>
  sql<number>`(SELECT sum(issued) FROM coupon_stripes WHERE coupon_id = ${couponId})::bigint`;

/**
 * One stripe of the campaign with a copy left: with `SKIP LOCKED`, the first that no other request holds,
 * locked; with `WAITING`, the first in this statement's snapshot, whoever holds it (the claim then waits on
 * it). Each request starts its search at a stripe of its own (`from`, taken modulo the campaign's number of
 * stripes), so that concurrent requests spread over the stripes rather than all trying the first.
 */
const stripeWithRoom = (couponId: number, from: number, lock: 'SKIP LOCKED' | 'WAITING') => sql<number>`(
  SELECT stripe FROM coupon_stripes
  WHERE coupon_id = ${couponId} AND issued < quantity AND ${openNow(couponId)}
  ORDER BY (stripe + ${from}) % (SELECT least(total_quantity, ${STRIPES}) FROM coupons WHERE id = ${couponId})
  LIMIT 1
  ${lock === 'SKIP LOCKED' ? sql`FOR UPDATE SKIP LOCKED` : sql``})`;

/** A claim's outcome: the copy stored, or none, and the stripe it tried (none when no stripe had room). */
interface Claim {
  readonly id: number | null;
  readonly stripe: number | null;
}

export class PgCouponIssuer implements CouponIssuer {
  constructor(
    private readonly db: Db,
    private readonly pickStripe: () => number = () => randomInt(STRIPES),
  ) {}

  /**
   * Claims a copy from a stripe with room that no other request holds (`FOR UPDATE SKIP LOCKED`) and stores
   * it, in one statement that commits by itself, so a stripe is never held across a round trip here. Only
   * when every stripe with room is held does a second statement wait, on one stripe picked from a fresh
   * snapshot: SOLD_OUT then means nothing is left, not that the last copies are held. The wait is a statement
   * of its own because a locking search keeps the full rows it locked, and two such searches deadlock. The
   * unique key, the user's foreign key and the window trigger (migration 0011) refuse by undoing the claim
   * with the rest of the statement. Under an Idempotency-Key it joins that request's transaction instead.
   * The README's "How the hot paths stay correct" tells the whole design.
   */
  async issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal> {
    const from = this.pickStripe();
    let id: number | null;
    try {
      id = await inCurrentTransaction(this.db, async (db) => {
        let claim = await this.claim(db, draft, stripeWithRoom(draft.couponId, from, 'SKIP LOCKED'));
        if (claim.id === null && claim.stripe === null) {
          do claim = await this.claim(db, draft, stripeWithRoom(draft.couponId, from, 'WAITING'));
          while (claim.id === null && claim.stripe !== null);
        }
        return claim.id;
      });
    } catch (error) {
      if (isUniqueViolation(error, ONE_PER_USER)) return 'ALREADY_ISSUED';
      if (isForeignKeyViolation(error, USER_EXISTS)) return 'USER_NOT_FOUND';
      if (isCheckViolation(error, IN_WINDOW)) return 'NOT_ISSUABLE';
      throw error;
    }
    return id === null ? this.refusal(draft) : new UserCoupon({ ...draft, id, usedAt: null, orderId: null });
  }

  /** Counts a copy on `stripe` if it still has room, and stores the copy if it did, in one statement. */
  private async claim(db: Db, draft: UserCouponDraft, stripe: RawBuilder<number>): Promise<Claim> {
    const { couponId } = draft;
    const { rows } = await prepared(
      'coupon-claim',
      sql<Claim>`
      WITH picked AS MATERIALIZED (SELECT ${stripe} AS stripe),
      claimed AS (
        UPDATE coupon_stripes SET issued = issued + 1
        WHERE coupon_id = ${couponId} AND issued < quantity AND stripe = (SELECT stripe FROM picked)
        RETURNING coupon_id, stripe
      ),
      copy AS (
        INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
        SELECT coupon_id, stripe, ${draft.userId}::bigint,
          ${draft.issuedAt}::timestamptz, ${draft.expiresAt}::timestamptz
        FROM claimed
        RETURNING id
      )
      SELECT (SELECT id FROM copy) AS id, (SELECT stripe FROM picked) AS stripe`,
    ).execute(db);
    return rows[0]!;
  }

  /**
   * Why the statement issued nothing, read afresh after it: outside the window, else sold out. Sound because
   * the count only grows and the window never changes: a campaign with copies left now had them during the
   * statement too, so it was the window that refused it (one that has opened since included).
   */
  private async refusal(draft: UserCouponDraft): Promise<IssueRefusal> {
    const row = await readerFor(this.db)
      .selectFrom('coupons')
      .select([
        WINDOW_OPEN.as('open'),
        sql<boolean>`${issuedOf(sql.ref('coupons.id'))} >= total_quantity`.as('sold_out'),
      ])
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
    const row = await this.db
      .selectFrom('coupons')
      .selectAll()
      .select(issuedOf(sql.ref('coupons.id')).as('issued_quantity'))
      .where('id', '=', couponId)
      .executeTakeFirst();
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
