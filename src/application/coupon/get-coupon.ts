import type { Coupon } from '../../domain/coupon/coupon.js';
import { CouponNotFoundError } from '../../domain/coupon/coupon-errors.js';
import type { CouponQueries } from '../ports/coupon-repository.js';

export class GetCoupon {
  /** A campaign as the catalog shows it: no user's own copies are read through it. */
  constructor(private readonly coupons: Pick<CouponQueries, 'findById'>) {}

  async execute({ couponId }: { couponId: number }): Promise<Coupon> {
    const coupon = await this.coupons.findById(couponId);
    if (!coupon) throw new CouponNotFoundError(couponId);
    return coupon;
  }
}
