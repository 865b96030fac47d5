import { CouponNotUsableError } from './coupon-errors.js';
import { type DiscountType, discountOn } from './coupon.js';

export const USER_COUPON_STATUSES = ['AVAILABLE', 'USED', 'EXPIRED'] as const;
export type UserCouponStatus = (typeof USER_COUPON_STATUSES)[number];

/** A copy about to be issued. Name and discount are the campaign's, so a held copy reads on its own. */
export interface UserCouponDraft {
  readonly couponId: number;
  readonly userId: number;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface UserCouponProps extends UserCouponDraft {
  readonly id: number;
  readonly usedAt: Date | null;
  readonly orderId: number | null;
}

/** One issued copy of a coupon, held by one user. Its status is derived from the time, never stored. */
export class UserCoupon implements UserCouponProps {
  readonly id: number;
  readonly couponId: number;
  readonly userId: number;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly orderId: number | null;

  constructor(props: UserCouponProps) {
    this.id = props.id;
    this.couponId = props.couponId;
    this.userId = props.userId;
    this.name = props.name;
    this.discountType = props.discountType;
    this.discountValue = props.discountValue;
    this.issuedAt = props.issuedAt;
    this.expiresAt = props.expiresAt;
    this.usedAt = props.usedAt;
    this.orderId = props.orderId;
  }

  /** USED once used; otherwise EXPIRED from `expiresAt` on; otherwise AVAILABLE. */
  statusAt(now: Date): UserCouponStatus {
    if (this.usedAt) return 'USED';
    return now >= this.expiresAt ? 'EXPIRED' : 'AVAILABLE';
  }

  discountOn(total: number): number {
    return discountOn(total, this.discountType, this.discountValue);
  }

  /**
   * Only its holder may use a copy, and only while it is AVAILABLE. Someone else's copy is refused as one that
   * does not exist, so its id tells the caller nothing about who holds it.
   */
  assertUsableBy(userId: number, now: Date): void {
    if (userId !== this.userId) throw new CouponNotUsableError({ userCouponId: this.id, reason: 'NOT_FOUND' });
    const status = this.statusAt(now);
    if (status !== 'AVAILABLE') throw new CouponNotUsableError({ userCouponId: this.id, reason: status });
  }

  /**
   * The copy given back by the order it paid for, once nothing of that order is left: AVAILABLE again (or
   * EXPIRED, by its own expiresAt), free to pay for a later order.
   */
  release(orderId: number): UserCoupon {
    if (this.orderId !== orderId) throw new Error(`Coupon copy ${this.id} did not pay for order ${orderId}.`);
    return new UserCoupon({ ...this, usedAt: null, orderId: null });
  }

  /** Marks the copy used by an order. */
  use(userId: number, orderId: number, now: Date): UserCoupon {
    this.assertUsableBy(userId, now);
    return new UserCoupon({ ...this, usedAt: now, orderId });
  }
}
