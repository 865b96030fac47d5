import type { Coupon } from '../../domain/coupon/coupon.js';
import { CouponNotFoundError } from '../../domain/coupon/coupon-errors.js';
import type { CouponQueries } from '../ports/coupon-repository.js';

export class GetCoupon {
  constructor(private readonly coupons: CouponQueries) {}

  async execute({ couponId }: { couponId: number }): Promise<Coupon> {
    const coupon = await this.coupons.findById(couponId);
    if (!coupon) throw new CouponNotFoundError(couponId);
    return coupon;
  }
}
