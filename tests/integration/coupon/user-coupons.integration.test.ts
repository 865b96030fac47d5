import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();
const actor = SYSTEM;

describe('held coupons on PostgreSQL', () => {
  it('derives AVAILABLE and EXPIRED from the moved clock, in the list and in its filter', async () => {
    const clock = new ManualClock('2026-11-24T03:00:00.000Z');
    const s = appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock }));
    const { listUserCoupons: list } = s;
    const [userId] = await insertUsers(database.db, 1);
    const oneDay = await seed(s).coupon({ name: 'one day', validDays: 1 });
    // The window is judged by the database's clock (see issue-window.integration.test.ts), so it is open
    // around the real now; the copies' issue and expiry instants follow the moved clock.
    const window = await seed(s).coupon({
      name: 'window',
      validDays: 3,
      issueStartsAt: new Date(Date.now() - 3_600_000),
      issueEndsAt: new Date(Date.now() + 3_600_000),
    });

    await seed(s).issued(oneDay.id, userId!);
    clock.set('2026-11-24T04:00:00.000Z');
    await seed(s).issued(window.id, userId!);

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
