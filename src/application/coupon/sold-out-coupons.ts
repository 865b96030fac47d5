import type { Coupon } from '../../domain/coupon/coupon.js';
import { CouponSoldOutError } from '../../domain/coupon/coupon-errors.js';
import type { Clock } from '../ports/clock.js';

/**
 * Campaigns this process has seen sold out, so later requests are answered without a transaction and
 * without queueing on the campaign's row lock. Safe because issuing only ever raises issuedQuantity: a
 * sold-out campaign stays sold out. The entries still expire, so a future change of totalQuantity is
 * seen within `ttlMs`.
 */
export class SoldOutCoupons {
  private readonly entries = new Map<number, { totalQuantity: number; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
  ) {}

  /** The error to answer with when `couponId` is known to be sold out. */
  check(couponId: number): CouponSoldOutError | undefined {
    const entry = this.entries.get(couponId);
    if (!entry) return undefined;
    if (entry.until <= this.clock.now().getTime()) {
      this.entries.delete(couponId);
      return undefined;
    }
    return new CouponSoldOutError({ couponId, totalQuantity: entry.totalQuantity });
  }

  remember(coupon: Coupon): CouponSoldOutError {
    this.entries.set(coupon.id, {
      totalQuantity: coupon.totalQuantity,
      until: this.clock.now().getTime() + this.ttlMs,
    });
    return coupon.soldOutError();
  }
}
