import type { Coupon, CouponDraft } from '../../domain/coupon/coupon.js';
import type { UserCoupon, UserCouponDraft, UserCouponStatus } from '../../domain/coupon/user-coupon.js';

/** Writes, inside a unit of work. */
export interface CouponRepository {
  add(draft: CouponDraft, at: Date): Promise<Coupon>;
  /** The campaign as it is now, without a lock: a snapshot to check the window and quantity against. */
  findById(couponId: number): Promise<Coupon | undefined>;
  /**
   * Counts one more copy issued if one is left, atomically with that check; undefined when sold out.
   * The campaign row is the hottest in the system: this locks it until the unit of work ends, so call it
   * last.
   */
  reserveOne(couponId: number): Promise<Coupon | undefined>;
}

export interface UserCouponRepository {
  /** Stores the copy unless the user already holds one of this coupon (then undefined). */
  addIfAbsent(draft: UserCouponDraft): Promise<UserCoupon | undefined>;
}

export interface UserCouponFilter {
  readonly status?: UserCouponStatus | undefined;
  /** The instant EXPIRED is judged at. */
  readonly now: Date;
}

/** Reads that need no lock and no transaction. */
export interface CouponQueries {
  findById(couponId: number): Promise<Coupon | undefined>;
  /** Newest first. */
  listUserCoupons(userId: number, filter: UserCouponFilter): Promise<UserCoupon[]>;
}
