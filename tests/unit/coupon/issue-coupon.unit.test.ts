import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { inMemoryShop } from '../../support/in-memory.js';
import { seed } from '../../support/seed.js';

const actor = SYSTEM;

async function shopWithUsers(count: number) {
  const shop = inMemoryShop('2026-11-24T03:00:00.000Z');
  const users: number[] = [];
  for (let i = 0; i < count; i++) users.push((await seed(shop).user()).id);
  return { shop, users };
}

describe('IssueCoupon', () => {
  it('issues an AVAILABLE copy valid for validDays and counts it', async () => {
    const { shop, users } = await shopWithUsers(1);
    const coupon = await seed(shop).coupon({ validDays: 7 });

    const copy = await shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[0]! });

    expect(copy).toMatchObject({
      couponId: coupon.id,
      userId: users[0],
      issuedAt: shop.clock.now(),
      usedAt: null,
      orderId: null,
    });
    expect(copy.expiresAt).toEqual(new Date('2026-12-01T03:00:00.000Z'));
    expect(copy.statusAt(shop.clock.now())).toBe('AVAILABLE');
    expect((await shop.getCoupon.execute({ couponId: coupon.id })).issuedQuantity).toBe(1);
  });

  it('issues one copy per user: the second request is COUPON_ALREADY_ISSUED and counts nothing', async () => {
    const { shop, users } = await shopWithUsers(1);
    const coupon = await seed(shop).coupon();
    await shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[0]! });

    await expect(shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[0]! })).rejects.toMatchObject({
      code: 'COUPON_ALREADY_ISSUED',
    });
    expect((await shop.getCoupon.execute({ couponId: coupon.id })).issuedQuantity).toBe(1);
  });

  it('issues exactly totalQuantity copies, then COUPON_SOLD_OUT', async () => {
    const { shop, users } = await shopWithUsers(3);
    const coupon = await seed(shop).coupon({ totalQuantity: 2 });
    const results = await Promise.allSettled(
      users.map((userId) => shop.issueCoupon.execute({ actor, couponId: coupon.id, userId })),
    );

    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    await expect(shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[2]! })).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
    });
    expect(shop.store.state.userCoupons.size).toBe(2);
  });

  it('puts COUPON_NOT_FOUND before USER_NOT_FOUND before COUPON_NOT_ISSUABLE', async () => {
    const { shop, users } = await shopWithUsers(1);
    const closed = await seed(shop).coupon({
      issueStartsAt: new Date('2026-12-01T00:00:00.000Z'),
      issueEndsAt: new Date('2026-12-02T00:00:00.000Z'),
    });

    await expect(shop.issueCoupon.execute({ actor, couponId: 999, userId: 999 })).rejects.toMatchObject({
      code: 'COUPON_NOT_FOUND',
    });
    await expect(shop.issueCoupon.execute({ actor, couponId: closed.id, userId: 999 })).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
    await expect(shop.issueCoupon.execute({ actor, couponId: closed.id, userId: users[0]! })).rejects.toMatchObject({
      code: 'COUPON_NOT_ISSUABLE',
    });
  });

  it('opens and closes with the window as the clock moves', async () => {
    const { shop, users } = await shopWithUsers(3);
    const coupon = await seed(shop).coupon({
      totalQuantity: 10,
      issueStartsAt: new Date('2026-11-24T04:00:00.000Z'),
      issueEndsAt: new Date('2026-11-24T05:00:00.000Z'),
    });
    const issue = (userId: number) => shop.issueCoupon.execute({ actor, couponId: coupon.id, userId });

    await expect(issue(users[0]!)).rejects.toMatchObject({ code: 'COUPON_NOT_ISSUABLE' });
    shop.clock.set('2026-11-24T04:00:00.000Z');
    await expect(issue(users[0]!)).resolves.toMatchObject({ userId: users[0] });
    shop.clock.set('2026-11-24T04:59:59.999Z');
    await expect(issue(users[1]!)).resolves.toMatchObject({ userId: users[1] });
    shop.clock.set('2026-11-24T05:00:00.000Z');
    await expect(issue(users[2]!)).rejects.toMatchObject({ code: 'COUPON_NOT_ISSUABLE' });
  });

  it('answers a campaign known to be sold out without a transaction, until the memory expires', async () => {
    const { shop, users } = await shopWithUsers(2);
    const coupon = await seed(shop).coupon({ totalQuantity: 1 });
    await shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[0]! });
    await expect(shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[1]! })).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
    });

    // The campaign grows behind the cache's back: the remembered answer holds until its TTL passes.
    const props = shop.store.state.coupons.get(coupon.id)!;
    shop.store.state.coupons.set(coupon.id, { ...props, totalQuantity: 2 });
    await expect(shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[1]! })).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
    });
    shop.clock.advance(10_001);
    await expect(shop.issueCoupon.execute({ actor, couponId: coupon.id, userId: users[1]! })).resolves.toMatchObject({
      userId: users[1],
    });
  });
});

describe('ListUserCoupons', () => {
  it('lists newest first with statuses derived from the clock, filtered on request', async () => {
    const { shop, users } = await shopWithUsers(1);
    const userId = users[0]!;
    const short = await seed(shop).coupon({ name: 'short', validDays: 1 });
    const long = await seed(shop).coupon({ name: 'long', validDays: 30 });
    await seed(shop).issued(short.id, userId);
    await seed(shop).issued(long.id, userId);

    const names = async (status?: 'AVAILABLE' | 'USED' | 'EXPIRED') =>
      (await shop.listUserCoupons.execute({ actor, userId, status, page: { limit: 20 } })).items.map(
        ({ coupon, status: s }) => `${coupon.name}:${s}`,
      );

    expect(await names()).toEqual(['long:AVAILABLE', 'short:AVAILABLE']);
    shop.clock.advance(86_400_000);
    expect(await names()).toEqual(['long:AVAILABLE', 'short:EXPIRED']);
    expect(await names('EXPIRED')).toEqual(['short:EXPIRED']);
    expect(await names('AVAILABLE')).toEqual(['long:AVAILABLE']);
    expect(await names('USED')).toEqual([]);
  });

  it('pages newest first, the status filter applied before the page is cut', async () => {
    const { shop, users } = await shopWithUsers(1);
    const userId = users[0]!;
    for (const [i, validDays] of [1, 30, 1, 30, 1].entries()) {
      await seed(shop).couponFor(userId, { name: `copy ${i}`, validDays });
    }
    shop.clock.advance(86_400_000);
    const pages = async (status?: 'AVAILABLE' | 'USED' | 'EXPIRED') => {
      const names: string[][] = [];
      let after: number | undefined;
      do {
        const page = await shop.listUserCoupons.execute({ actor, userId, status, page: { limit: 2, after } });
        names.push(page.items.map(({ coupon }) => coupon.name));
        after = page.nextAfter ?? undefined;
      } while (after !== undefined);
      return names;
    };

    expect(await pages()).toEqual([['copy 4', 'copy 3'], ['copy 2', 'copy 1'], ['copy 0']]);
    expect(await pages('EXPIRED')).toEqual([['copy 4', 'copy 2'], ['copy 0']]);
    expect(await pages('AVAILABLE')).toEqual([['copy 3', 'copy 1']]);
  });

  it('is USER_NOT_FOUND for an unknown user', async () => {
    const { shop } = await shopWithUsers(0);
    await expect(shop.listUserCoupons.execute({ actor, userId: 5, page: { limit: 20 } })).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
  });
});
