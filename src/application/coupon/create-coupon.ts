import { type AuditStamp, created } from '../../domain/audit/audit-entry.js';
import { Coupon, type CouponDraft } from '../../domain/coupon/coupon.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import { auditHeader } from '../shared/audit.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateCouponInput extends CouponDraft {
  readonly actor: Actor;
  /** The request it comes from: its audit entry is written with the campaign. */
  readonly audit: AuditStamp;
}

export class CreateCoupon {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, audit, ...input }: CreateCouponInput): Promise<Coupon> {
    assertAdmin(actor);
    const header = auditHeader('coupon.create', actor, audit);
    const draft = Coupon.draft(input);
    return this.uow.run(async (repos) => {
      const coupon = await repos.coupons.add(draft, this.clock.now());
      const fields = {
        name: coupon.name,
        discountType: coupon.discountType,
        discountValue: coupon.discountValue,
        totalQuantity: coupon.totalQuantity,
        validDays: coupon.validDays,
        issueStartsAt: coupon.issueStartsAt?.toISOString() ?? null,
        issueEndsAt: coupon.issueEndsAt?.toISOString() ?? null,
      };
      await repos.auditLog.append({ ...header, target: { type: 'coupon', id: coupon.id }, ...created(fields) });
      return coupon;
    });
  }
}
