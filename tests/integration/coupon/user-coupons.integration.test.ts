import { describe, expect, it } from 'vitest';
import { CreateCoupon } from '../../../src/application/coupon/create-coupon.js';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { ListUserCoupons } from '../../../src/application/coupon/list-user-coupons.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();
const actor = SYSTEM;

describe('held coupons on PostgreSQL', () => {
  it('derives AVAILABLE and EXPIRED from the moved clock, in the list and in its filter', async () => {
    const clock = new ManualClock('2026-11-24T03:00:00.000Z');
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock });
    const [createCoupon, issueCoupon, list] = [
      c.resolve(CreateCoupon),
      c.resolve(IssueCoupon),
      c.resolve(ListUserCoupons),
    ];
    const [userId] = await insertUsers(database.db, 1);
    const base = {
      discountType: 'FIXED',
      discountValue: 500,
      totalQuantity: 5,
      issueStartsAt: null,
      issueEndsAt: null,
    } as const;
    const oneDay = await createCoupon.execute({ actor, ...base, name: 'one day', validDays: 1 });
    // The window is judged by the database's clock (see issue-window.integration.test.ts), so it is open
    // around the real now; the copies' issue and expiry instants follow the moved clock.
    const window = await createCoupon.execute({
      actor,
      ...base,
      name: 'window',
      validDays: 3,
      issueStartsAt: new Date(Date.now() - 3_600_000),
      issueEndsAt: new Date(Date.now() + 3_600_000),
    });

    await issueCoupon.execute({ actor, couponId: oneDay.id, userId: userId! });
    clock.set('2026-11-24T04:00:00.000Z');
    await issueCoupon.execute({ actor, couponId: window.id, userId: userId! });

    const view = async (status?: 'AVAILABLE' | 'EXPIRED' | 'USED') =>
      (await list.execute({ actor, userId: userId!, status, page: { limit: 20 } })).items.map(
        ({ coupon, status: s }) => `${coupon.name}:${s}`,
      );
    expect(await view()).toEqual(['window:AVAILABLE', 'one day:AVAILABLE']);

    clock.set('2026-11-25T02:59:59.999Z');
    expect(await view('AVAILABLE')).toEqual(['window:AVAILABLE', 'one day:AVAILABLE']);
    clock.set('2026-11-25T03:00:00.000Z'); // one day after the first was issued: it expires at this instant
    expect(await view()).toEqual(['window:AVAILABLE', 'one day:EXPIRED']);
    expect(await view('EXPIRED')).toEqual(['one day:EXPIRED']);
    expect(await view('AVAILABLE')).toEqual(['window:AVAILABLE']);
    expect(await view('USED')).toEqual([]);
  });
});
