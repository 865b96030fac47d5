import { CouponAlreadyIssuedError, CouponNotFoundError } from '../../domain/coupon/coupon-errors.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { CouponIssuer, CouponQueries } from '../ports/coupon-repository.js';
import type { UserQueries } from '../ports/user-repository.js';

export interface IssueCouponInput {
  readonly actor: Actor;
  readonly couponId: number;
  readonly userId: number;
}

/**
 * First come, first served. The campaign is read without a lock, for its existence and terms; then one
 * atomic step judges the window, counts and stores the copy, which is what makes the limits hold under any
 * concurrency. The window is judged there, by the store's clock at the instant of issue, and not here by
 * this process's: an instance whose clock is off, or a request that waited on a campaign stripe's row lock past
 * issueEndsAt, must not issue outside it. On the happy path the user's existence is enforced by the store
 * itself (a copy can't name a missing user), so the explicit check runs only where the contract puts
 * USER_NOT_FOUND ahead of a refusal. The composition root gives it a SoldOutCouponMemory as its coupon reads
 * and issue step: a campaign known to be sold out is answered at the read, before the user or the window is
 * checked (the contract allows that).
 */
export class IssueCoupon {
  constructor(
    private readonly coupons: CouponQueries,
    private readonly users: UserQueries,
    private readonly issuer: CouponIssuer,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, couponId, userId }: IssueCouponInput): Promise<UserCoupon> {
    assertMayActFor(actor, userId);
    const coupon = await this.coupons.findById(couponId);
    if (!coupon) throw new CouponNotFoundError(couponId);

    const issued = await this.issuer.issue(coupon.copyFor(userId, this.clock.now()));
    switch (issued) {
      case 'USER_NOT_FOUND':
        throw new UserNotFoundError(userId);
      case 'ALREADY_ISSUED':
        throw new CouponAlreadyIssuedError({ couponId, userId });
      case 'NOT_ISSUABLE':
        await this.assertUserExists(userId);
        throw coupon.notIssuableError();
      case 'SOLD_OUT':
        await this.assertUserExists(userId);
        throw coupon.soldOutError();
      default:
        return issued;
    }
  }

  private async assertUserExists(userId: number): Promise<void> {
    if (!(await this.users.exists(userId))) throw new UserNotFoundError(userId);
  }
}
