import { Coupon, type CouponDraft } from '../../domain/coupon/coupon.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateCouponInput extends CouponDraft {
  readonly actor: Actor;
}

export class CreateCoupon {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, ...input }: CreateCouponInput): Promise<Coupon> {
    assertAdmin(actor);
    const draft = Coupon.draft(input);
    return this.uow.run((repos) => repos.coupons.add(draft, this.clock.now()));
  }
}
