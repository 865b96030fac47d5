import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { CAMPAIGN_TERMS_TTL_MS, SoldOutCouponMemory } from '../../../src/application/coupon/sold-out-coupon-memory.js';
import type { CouponIssuer, CouponQueries, IssueRefusal } from '../../../src/application/ports/coupon-repository.js';
import type { Page } from '../../../src/application/shared/pagination.js';
import { Coupon, type CouponProps } from '../../../src/domain/coupon/coupon.js';
import type { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';

const campaign: CouponProps = {
  id: 1,
  name: 'First come',
  discountType: 'FIXED',
  discountValue: 1_000,
  totalQuantity: 2,
  issuedQuantity: 2,
  validDays: 7,
  issueStartsAt: null,
  issueEndsAt: null,
};

/** One campaign, as stored now; counts the reads that reach it. */
class CountingCoupons implements CouponQueries {
  reads = 0;
  constructor(public stored: CouponProps) {}

  async findById(couponId: number): Promise<Coupon | undefined> {
    this.reads++;
    return couponId === this.stored.id ? new Coupon(this.stored) : undefined;
  }

  async listUserCoupons(): Promise<Page<UserCoupon>> {
    return { items: [], nextAfter: null };
  }
}

/** An issue step that always answers the same refusal, as the atomic statement does once the last copy went. */
class RefusingIssuer implements CouponIssuer {
  constructor(private readonly refusal: IssueRefusal) {}

  async issue(): Promise<IssueRefusal> {
    return this.refusal;
  }
}

function memoryOver(stored: CouponProps, issuer: CouponIssuer = new RefusingIssuer('SOLD_OUT')) {
  const coupons = new CountingCoupons(stored);
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  return { coupons, clock, memory: new SoldOutCouponMemory(coupons, issuer, clock) };
}

const copyOf = (coupon: Coupon) => coupon.copyFor(7, new Date('2026-11-24T03:00:00.000Z'));

describe('SoldOutCouponMemory', () => {
  it('answers a campaign read sold out with COUPON_SOLD_OUT, reading nothing, for 10 s', async () => {
    const { coupons, clock, memory } = memoryOver(campaign);
    await expect(memory.findById(1)).resolves.toMatchObject({ id: 1, soldOut: true });

    coupons.stored = { ...campaign, totalQuantity: 3 }; // behind the memory's back
    clock.advance(9_999);
    await expect(memory.findById(1)).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
      facts: { couponId: 1, totalQuantity: 2 },
    });
    expect(coupons.reads).toBe(1);

    clock.advance(1);
    await expect(memory.findById(1)).resolves.toMatchObject({ totalQuantity: 3, soldOut: false });
    expect(coupons.reads).toBe(2);
  });

  it('remembers neither a campaign with copies left nor one outside its window', async () => {
    for (const stored of [
      { ...campaign, issuedQuantity: 1 },
      { ...campaign, issueEndsAt: new Date('2026-11-24T03:00:00.000Z') },
      { ...campaign, issueStartsAt: new Date('2026-11-24T03:00:00.001Z') },
    ]) {
      const { coupons, clock, memory } = memoryOver(stored);
      await memory.findById(1);
      clock.advance(CAMPAIGN_TERMS_TTL_MS);
      await expect(memory.findById(1)).resolves.toMatchObject({ id: 1 });
      expect(coupons.reads).toBe(2);
    }
  });

  it('reads a campaign with copies left once a second, however many ask: its terms never change', async () => {
    const { coupons, clock, memory } = memoryOver({ ...campaign, issuedQuantity: 1 });
    for (const wait of [0, 1, CAMPAIGN_TERMS_TTL_MS - 2]) {
      clock.advance(wait);
      await expect(memory.findById(1)).resolves.toMatchObject({ id: 1, totalQuantity: 2 });
    }
    expect(coupons.reads).toBe(1);

    clock.advance(1);
    await expect(memory.findById(1)).resolves.toMatchObject({ id: 1 });
    expect(coupons.reads).toBe(2);
  });

  it('reads an unknown campaign every time: it may be made meanwhile', async () => {
    const { coupons, memory } = memoryOver(campaign);
    await expect(memory.findById(2)).resolves.toBeUndefined();
    coupons.stored = { ...campaign, id: 2, issuedQuantity: 0 };
    await expect(memory.findById(2)).resolves.toMatchObject({ id: 2 });
  });

  it('passes an unknown campaign and the wallet reads through', async () => {
    const { memory } = memoryOver(campaign);
    await expect(memory.findById(2)).resolves.toBeUndefined();
    await expect(memory.listUserCoupons(5, { now: new Date() }, { limit: 20 })).resolves.toEqual({
      items: [],
      nextAfter: null,
    });
  });

  it('remembers a campaign the issue step found sold out, though the read still saw copies left', async () => {
    const { coupons, clock, memory } = memoryOver({ ...campaign, issuedQuantity: 1 });
    const seen = (await memory.findById(1))!;
    await expect(memory.issue(copyOf(seen))).resolves.toBe('SOLD_OUT');

    await expect(memory.findById(1)).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
      facts: { couponId: 1, totalQuantity: 2 },
    });
    expect(coupons.reads).toBe(1);
    clock.advance(10_000);
    await expect(memory.findById(1)).resolves.toMatchObject({ id: 1 });
  });

  it('remembers nothing when the issue step refuses for another reason', async () => {
    for (const refusal of ['ALREADY_ISSUED', 'USER_NOT_FOUND'] as const) {
      const { coupons, clock, memory } = memoryOver({ ...campaign, issuedQuantity: 1 }, new RefusingIssuer(refusal));
      await expect(memory.issue(copyOf((await memory.findById(1))!))).resolves.toBe(refusal);
      clock.advance(CAMPAIGN_TERMS_TTL_MS);
      await expect(memory.findById(1)).resolves.toMatchObject({ id: 1 });
      expect(coupons.reads).toBe(2);
    }
  });
});
