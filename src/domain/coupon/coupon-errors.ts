import { DomainError } from '../shared/domain-error.js';

export class CouponNotFoundError extends DomainError {
  readonly code = 'COUPON_NOT_FOUND';

  constructor(couponId: number) {
    super(`Coupon ${couponId} does not exist.`, { couponId });
  }
}

export class CouponNotIssuableError extends DomainError {
  readonly code = 'COUPON_NOT_ISSUABLE';

  constructor(facts: { couponId: number; issueStartsAt: string | null; issueEndsAt: string | null }) {
    super(`Coupon ${facts.couponId} is not being issued now.`, facts);
  }
}

export class CouponAlreadyIssuedError extends DomainError {
  readonly code = 'COUPON_ALREADY_ISSUED';

  constructor(facts: { couponId: number; userId: number }) {
    super(`User ${facts.userId} already holds coupon ${facts.couponId}.`, facts);
  }
}

export class CouponSoldOutError extends DomainError {
  readonly code = 'COUPON_SOLD_OUT';

  constructor(facts: { couponId: number; totalQuantity: number }) {
    super(`All ${facts.totalQuantity} copies of coupon ${facts.couponId} have been issued.`, facts);
  }
}

export class CouponNotUsableError extends DomainError {
  readonly code = 'COUPON_NOT_USABLE';

  constructor(facts: { userCouponId: number; reason: 'NOT_FOUND' | 'USED' | 'EXPIRED' }) {
    super(`User coupon ${facts.userCouponId} cannot be used (${facts.reason.toLowerCase().replace('_', ' ')}).`, facts);
  }
}
