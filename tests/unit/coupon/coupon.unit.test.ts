import { describe, expect, it } from 'vitest';
import { Coupon, type CouponDraft, discountOn } from '../../../src/domain/coupon/coupon.js';
import { CouponNotIssuableError, CouponSoldOutError } from '../../../src/domain/coupon/coupon-errors.js';
import { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';

const draft: CouponDraft = {
  name: 'Ten off',
  discountType: 'PERCENT',
  discountValue: 10,
  totalQuantity: 2,
  validDays: 7,
  issueStartsAt: new Date('2026-11-24T00:00:00.000Z'),
  issueEndsAt: new Date('2026-11-25T00:00:00.000Z'),
};
const coupon = new Coupon({ ...draft, id: 1, issuedQuantity: 0 });

describe('Coupon', () => {
  it.each([
    [{ discountType: 'PERCENT', discountValue: 101 }, 'discountValue'],
    [{ discountType: 'PERCENT', discountValue: 0 }, 'discountValue'],
    [{ discountType: 'FIXED', discountValue: 10_000_001 }, 'discountValue'],
    [{ totalQuantity: 0 }, 'totalQuantity'],
    [{ totalQuantity: 10_000_001 }, 'totalQuantity'],
    [{ validDays: 0 }, 'validDays'],
    [{ validDays: 366 }, 'validDays'],
    [{ name: ' ' }, 'name'],
    [{ issueEndsAt: new Date('2026-11-24T00:00:00.000Z') }, 'issueEndsAt'],
  ] as [Partial<CouponDraft>, string][])('rejects the draft change %j, naming %s', (change, field) => {
    expect(() => Coupon.draft({ ...draft, ...change })).toThrow(expect.objectContaining({ field }));
  });

  it('is issuable from the window start (inclusive) until its end (exclusive)', () => {
    expect(coupon.isIssuableAt(new Date('2026-11-23T23:59:59.999Z'))).toBe(false);
    expect(coupon.isIssuableAt(new Date('2026-11-24T00:00:00.000Z'))).toBe(true);
    expect(coupon.isIssuableAt(new Date('2026-11-24T23:59:59.999Z'))).toBe(true);
    expect(coupon.isIssuableAt(new Date('2026-11-25T00:00:00.000Z'))).toBe(false);
    expect(() => coupon.assertIssuableAt(new Date('2026-11-25T00:00:00.000Z'))).toThrow(CouponNotIssuableError);
  });

  it('has an unbounded window when its ends are open', () => {
    const open = new Coupon({ ...draft, id: 2, issuedQuantity: 0, issueStartsAt: null, issueEndsAt: null });
    expect(open.isIssuableAt(new Date('1999-01-01T00:00:00.000Z'))).toBe(true);
    expect(open.isIssuableAt(new Date('2999-01-01T00:00:00.000Z'))).toBe(true);
  });

  it('is sold out once every copy is issued, and says so with the total', () => {
    expect(new Coupon({ ...draft, id: 1, issuedQuantity: 1 }).soldOut).toBe(false);
    const full = new Coupon({ ...draft, id: 1, issuedQuantity: 2 });
    expect(full.soldOut).toBe(true);
    expect(full.soldOutError()).toEqual(
      expect.objectContaining({ code: 'COUPON_SOLD_OUT', facts: { couponId: 1, totalQuantity: 2 } }),
    );
    expect(full.soldOutError()).toBeInstanceOf(CouponSoldOutError);
  });

  it('issues a copy that expires validDays after it is issued', () => {
    const issuedAt = new Date('2026-11-24T10:00:00.000Z');
    expect(coupon.copyFor(9, issuedAt)).toMatchObject({
      couponId: 1,
      userId: 9,
      issuedAt,
      expiresAt: new Date('2026-12-01T10:00:00.000Z'),
    });
  });
});

describe('discountOn', () => {
  it.each([
    [10_000, 'FIXED', 3_000, 3_000],
    [2_000, 'FIXED', 3_000, 2_000],
    [10_000, 'PERCENT', 10, 1_000],
    [999, 'PERCENT', 10, 99],
    [1, 'PERCENT', 99, 0],
    [12_345, 'PERCENT', 100, 12_345],
  ] as const)('takes off %i with %s %i: %i', (total, type, value, expected) => {
    expect(discountOn(total, type, value)).toBe(expected);
  });
});

describe('UserCoupon', () => {
  const copy = new UserCoupon({
    ...coupon.copyFor(9, new Date('2026-11-24T10:00:00.000Z')),
    id: 5,
    usedAt: null,
    orderId: null,
  });

  it('is AVAILABLE until expiresAt and EXPIRED from it on', () => {
    expect(copy.statusAt(new Date('2026-12-01T09:59:59.999Z'))).toBe('AVAILABLE');
    expect(copy.statusAt(new Date('2026-12-01T10:00:00.000Z'))).toBe('EXPIRED');
  });

  it('is USED once used, whatever the time', () => {
    const used = copy.use(9, 77, new Date('2026-11-25T00:00:00.000Z'));
    expect({ usedAt: used.usedAt, orderId: used.orderId }).toEqual({
      usedAt: new Date('2026-11-25T00:00:00.000Z'),
      orderId: 77,
    });
    expect(used.statusAt(new Date('2030-01-01T00:00:00.000Z'))).toBe('USED');
  });

  it.each([
    ['held by someone else (as if it did not exist)', 8, '2026-11-25T00:00:00.000Z', 'NOT_FOUND'],
    ['expired', 9, '2026-12-01T10:00:00.000Z', 'EXPIRED'],
  ])('cannot be used when %s', (_label, userId, at, reason) => {
    expect(() => copy.use(userId, 1, new Date(at))).toThrow(
      expect.objectContaining({ code: 'COUPON_NOT_USABLE', facts: { userCouponId: 5, reason } }),
    );
  });

  it('cannot be used twice', () => {
    const used = copy.use(9, 77, new Date('2026-11-25T00:00:00.000Z'));
    expect(() => used.use(9, 78, new Date('2026-11-25T00:00:01.000Z'))).toThrow(
      expect.objectContaining({ facts: { userCouponId: 5, reason: 'USED' } }),
    );
  });
});
