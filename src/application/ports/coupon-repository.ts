import type { Coupon, CouponDraft } from '../../domain/coupon/coupon.js';
import type { UserCoupon, UserCouponDraft, UserCouponStatus } from '../../domain/coupon/user-coupon.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Writes, inside a unit of work. */
export interface CouponRepository {
  add(draft: CouponDraft, at: Date): Promise<Coupon>;
}

export type IssueRefusal = 'NOT_ISSUABLE' | 'SOLD_OUT' | 'ALREADY_ISSUED' | 'USER_NOT_FOUND';

/**
 * Issuing is one atomic step of its own, not a unit of work: it counts the copy against the campaign and
 * stores it, or does neither. A campaign's count is the hottest state in the system, and a lock on it held
 * across a round trip to the application would cap the whole campaign at the speed of that round trip. Called
 * inside a unit of work (a request with an Idempotency-Key), it joins that unit of work instead, so the
 * two commit together.
 */
export interface CouponIssuer {
  /**
   * The stored copy; NOT_ISSUABLE outside the campaign's issue window, judged by the store's clock (the
   * database's, for PostgreSQL) at the instant of issue, not by the caller's; SOLD_OUT when none is left
   * (NOT_ISSUABLE when both hold); ALREADY_ISSUED when the user holds one already; USER_NOT_FOUND when there
   * is no such user (these two reported only when a copy was there to give).
   */
  issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal>;
}

export interface UserCouponFilter {
  readonly status?: UserCouponStatus | undefined;
  /** The instant EXPIRED is judged at. */
  readonly now: Date;
}

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface CouponQueries {
  findById(couponId: number): Promise<Coupon | undefined>;
  /** Newest first; the page key is the user coupon id. */
  listUserCoupons(userId: number, filter: UserCouponFilter, page: PageRequest): Promise<Page<UserCoupon>>;
}
