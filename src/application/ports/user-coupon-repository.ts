import type { UserCoupon } from '../../domain/coupon/user-coupon.js';

/** Writes, inside a unit of work. */
export interface UserCouponRepository {
  /** Locks the copy (not its campaign) until the unit of work ends. */
  getByIdForUpdate(userCouponId: number): Promise<UserCoupon | undefined>;
  /** Stores usedAt and orderId. */
  save(userCoupon: UserCoupon): Promise<void>;
}
