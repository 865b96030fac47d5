import { InvalidInputError } from '../shared/domain-error.js';
import { assertWholeAmount } from '../shared/money.js';
import { validName } from '../shared/text.js';
import { CouponNotIssuableError, CouponSoldOutError } from './coupon-errors.js';
import type { UserCouponDraft } from './user-coupon.js';

export const DISCOUNT_TYPES = ['FIXED', 'PERCENT'] as const;
export type DiscountType = (typeof DISCOUNT_TYPES)[number];

export const COUPON_NAME_MAX_LENGTH = 200;
export const MAX_FIXED_DISCOUNT = 10_000_000;
export const MAX_PERCENT_DISCOUNT = 100;
/** The largest discountValue a campaign of each type may have. */
export const MAX_DISCOUNT_VALUE: Readonly<Record<DiscountType, number>> = {
  FIXED: MAX_FIXED_DISCOUNT,
  PERCENT: MAX_PERCENT_DISCOUNT,
};
export const MAX_COUPON_QUANTITY = 10_000_000;
export const MAX_VALID_DAYS = 365;
const DAY_MS = 86_400_000;

export interface CouponDraft {
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly totalQuantity: number;
  readonly validDays: number;
  readonly issueStartsAt: Date | null;
  readonly issueEndsAt: Date | null;
}

/** How much a discount takes off a total: FIXED its value, PERCENT rounded down; never more than the total. */
export function discountOn(total: number, type: DiscountType, value: number): number {
  const raw = type === 'FIXED' ? value : Math.floor((total * value) / 100);
  return Math.min(raw, total);
}

export interface CouponProps extends CouponDraft {
  readonly id: number;
  readonly issuedQuantity: number;
}

/** A campaign: a limited quantity of copies, issued first come, first served, within an optional window. */
export class Coupon implements CouponProps {
  readonly id: number;
  readonly name: string;
  readonly discountType: DiscountType;
  readonly discountValue: number;
  readonly totalQuantity: number;
  readonly issuedQuantity: number;
  readonly validDays: number;
  readonly issueStartsAt: Date | null;
  readonly issueEndsAt: Date | null;

  constructor(props: CouponProps) {
    this.id = props.id;
    this.name = props.name;
    this.discountType = props.discountType;
    this.discountValue = props.discountValue;
    this.totalQuantity = props.totalQuantity;
    this.issuedQuantity = props.issuedQuantity;
    this.validDays = props.validDays;
    this.issueStartsAt = props.issueStartsAt;
    this.issueEndsAt = props.issueEndsAt;
  }

  static draft(input: CouponDraft): CouponDraft {
    const name = validName('name', input.name, COUPON_NAME_MAX_LENGTH);
    assertWholeAmount('discountValue', input.discountValue, 1, MAX_DISCOUNT_VALUE[input.discountType]);
    assertWholeAmount('totalQuantity', input.totalQuantity, 1, MAX_COUPON_QUANTITY);
    assertWholeAmount('validDays', input.validDays, 1, MAX_VALID_DAYS);
    if (input.issueStartsAt && input.issueEndsAt && input.issueStartsAt >= input.issueEndsAt) {
      throw new InvalidInputError('issueEndsAt', 'must be after issueStartsAt');
    }
    return { ...input, name };
  }

  get soldOut(): boolean {
    return this.issuedQuantity >= this.totalQuantity;
  }

  /** Issuable from `issueStartsAt` (inclusive) until `issueEndsAt` (exclusive); an open end is unbounded. */
  isIssuableAt(now: Date): boolean {
    return (!this.issueStartsAt || this.issueStartsAt <= now) && (!this.issueEndsAt || now < this.issueEndsAt);
  }

  assertIssuableAt(now: Date): void {
    if (!this.isIssuableAt(now)) throw this.notIssuableError();
  }

  notIssuableError(): CouponNotIssuableError {
    return new CouponNotIssuableError({
      couponId: this.id,
      issueStartsAt: this.issueStartsAt?.toISOString() ?? null,
      issueEndsAt: this.issueEndsAt?.toISOString() ?? null,
    });
  }

  soldOutError(): CouponSoldOutError {
    return new CouponSoldOutError({ couponId: this.id, totalQuantity: this.totalQuantity });
  }

  /** The copy a user receives: valid for `validDays` from the moment it is issued. */
  copyFor(userId: number, issuedAt: Date): UserCouponDraft {
    return {
      couponId: this.id,
      userId,
      name: this.name,
      discountType: this.discountType,
      discountValue: this.discountValue,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + this.validDays * DAY_MS),
    };
  }
}
