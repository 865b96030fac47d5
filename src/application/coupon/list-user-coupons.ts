import type { UserCoupon, UserCouponStatus } from '../../domain/coupon/user-coupon.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { Clock } from '../ports/clock.js';
import type { CouponQueries } from '../ports/coupon-repository.js';
import type { UserQueries } from '../ports/user-repository.js';

export interface ListUserCouponsInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly status?: UserCouponStatus | undefined;
  readonly page: PageRequest;
}

export interface HeldCoupon {
  readonly coupon: UserCoupon;
  readonly status: UserCouponStatus;
}

export class ListUserCoupons {
  constructor(
    private readonly users: UserQueries,
    private readonly coupons: CouponQueries,
    private readonly clock: Clock,
  ) {}

  /** Newest first, a page at a time, each with its status as of now. */
  async execute({ actor, userId, status, page }: ListUserCouponsInput): Promise<Page<HeldCoupon>> {
    assertMayActFor(actor, userId);
    const now = this.clock.now();
    const [exists, coupons] = await Promise.all([
      this.users.exists(userId),
      this.coupons.listUserCoupons(userId, { status, now }, page),
    ]);
    if (!exists) throw new UserNotFoundError(userId);
    return { ...coupons, items: coupons.items.map((coupon) => ({ coupon, status: coupon.statusAt(now) })) };
  }
}
