import { CouponAlreadyIssuedError, CouponNotFoundError } from '../../domain/coupon/coupon-errors.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import type { SoldOutCoupons } from './sold-out-coupons.js';

export interface IssueCouponInput {
  readonly actor: Actor;
  readonly couponId: number;
  readonly userId: number;
}

/**
 * First come, first served. Every check that needs no lock runs first, on a snapshot; the user's copy is
 * inserted next (a unique key makes a second copy impossible); the campaign's counter is taken last, in
 * one conditional UPDATE, so its row lock is held only for that statement and the commit. If no copy is
 * left the whole transaction, the inserted copy included, rolls back.
 */
export class IssueCoupon {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly soldOut: SoldOutCoupons,
  ) {}

  async execute({ actor, couponId, userId }: IssueCouponInput): Promise<UserCoupon> {
    assertMayActFor(actor, userId);
    const known = this.soldOut.check(couponId);
    if (known) throw known;

    const now = this.clock.now();
    return this.uow.run(async (repos) => {
      const coupon = await repos.coupons.findById(couponId);
      if (!coupon) throw new CouponNotFoundError(couponId);
      if (!(await repos.users.exists(userId))) throw new UserNotFoundError(userId);
      coupon.assertIssuableAt(now);
      if (coupon.soldOut) throw this.soldOut.remember(coupon);

      const copy = await repos.userCoupons.addIfAbsent(coupon.copyFor(userId, now));
      if (!copy) throw new CouponAlreadyIssuedError({ couponId, userId });
      if (!(await repos.coupons.reserveOne(couponId))) throw this.soldOut.remember(coupon);
      return copy;
    });
  }
}
