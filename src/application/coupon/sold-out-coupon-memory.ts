import type { Coupon } from '../../domain/coupon/coupon.js';
import { CouponSoldOutError } from '../../domain/coupon/coupon-errors.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Clock } from '../ports/clock.js';
import type { CouponQueries, UserCouponFilter } from '../ports/coupon-repository.js';

/**
 * The coupon reads of IssueCoupon, remembering each campaign read sold out while being issued, so the rest of
 * a storm is answered COUPON_SOLD_OUT without a read, a transaction or a wait on the campaign's row lock (the
 * contract lets a coupon known to be sold out answer so ahead of every check but COUPON_NOT_FOUND). Safe
 * because issuing only ever raises issuedQuantity: a sold-out campaign stays sold out. The entries still
 * expire, so a future change of totalQuantity is seen within `ttlMs`. A campaign outside its window is not
 * remembered: its answer is COUPON_NOT_ISSUABLE.
 */
export class SoldOutCouponMemory implements CouponQueries {
  private readonly entries = new Map<number, { totalQuantity: number; until: number }>();

  constructor(
    private readonly coupons: CouponQueries,
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
  ) {}

  /** Throws COUPON_SOLD_OUT, reading nothing, when the campaign is known to be sold out. */
  async findById(couponId: number): Promise<Coupon | undefined> {
    const now = this.clock.now();
    const entry = this.entries.get(couponId);
    if (entry && now.getTime() < entry.until) {
      throw new CouponSoldOutError({ couponId, totalQuantity: entry.totalQuantity });
    }
    if (entry) this.entries.delete(couponId);

    const coupon = await this.coupons.findById(couponId);
    if (coupon?.soldOut && coupon.isIssuableAt(now)) {
      this.entries.set(couponId, {
        totalQuantity: coupon.totalQuantity,
        until: this.clock.now().getTime() + this.ttlMs,
      });
    }
    return coupon;
  }

  listUserCoupons(userId: number, filter: UserCouponFilter): Promise<UserCoupon[]> {
    return this.coupons.listUserCoupons(userId, filter);
  }
}
