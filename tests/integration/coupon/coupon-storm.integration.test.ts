import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;

/** Issuing on PostgreSQL under `clock`, and `campaign(totalQuantity)` to make a campaign to issue from. */
function couponUseCases(clock = new ManualClock()) {
  const useCases = appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock }));
  const campaign = (totalQuantity: number) => seed(useCases).coupon({ totalQuantity });
  return { clock, campaign, issueCoupon: useCases.issueCoupon };
}

async function counts(couponId: number) {
  return {
    issuedQuantity: await scalar(
      database.db,
      sql`SELECT sum(issued)::int AS value FROM coupon_stripes WHERE coupon_id = ${couponId}`,
    ),
    rows: await scalar(database.db, sql`SELECT count(*) AS value FROM user_coupons WHERE coupon_id = ${couponId}`),
    distinctUsers: await scalar(
      database.db,
      sql`SELECT count(DISTINCT user_id) AS value FROM user_coupons WHERE coupon_id = ${couponId}`,
    ),
  };
}

function codesOf(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const result of results) {
    const key =
      result.status === 'fulfilled' ? 'ISSUED' : String((result.reason as { code?: string }).code ?? result.reason);
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return tally;
}

describe('first come, first served on PostgreSQL', () => {
  it('issues exactly 100 of a campaign of 100 to 1,000 concurrent users', async () => {
    const { campaign, issueCoupon } = couponUseCases();
    const coupon = await campaign(100);
    const users = await insertUsers(database.db, 1_000);

    const results = await Promise.allSettled(
      users.map((userId) => issueCoupon.execute({ actor, couponId: coupon.id, userId })),
    );

    expect(codesOf(results)).toEqual({ ISSUED: 100, COUPON_SOLD_OUT: 900 });
    expect(await counts(coupon.id)).toEqual({ issuedQuantity: 100, rows: 100, distinctUsers: 100 });
  });

  it('issues one copy to a user who asks 100 times at once', async () => {
    const { campaign, issueCoupon } = couponUseCases();
    const coupon = await campaign(50);
    const [userId] = await insertUsers(database.db, 1);

    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! })),
    );

    expect(codesOf(results)).toEqual({ ISSUED: 1, COUPON_ALREADY_ISSUED: 99 });
    expect(await counts(coupon.id)).toEqual({ issuedQuantity: 1, rows: 1, distinctUsers: 1 });
  });

  it('keeps issuedQuantity equal to the rows when users storm twice over a small campaign', async () => {
    const { campaign, issueCoupon } = couponUseCases();
    const coupon = await campaign(30);
    const users = await insertUsers(database.db, 60);

    const results = await Promise.allSettled(
      [...users, ...users].map((userId) => issueCoupon.execute({ actor, couponId: coupon.id, userId })),
    );

    const tally = codesOf(results);
    expect(tally.ISSUED).toBe(30);
    expect((tally.COUPON_SOLD_OUT ?? 0) + (tally.COUPON_ALREADY_ISSUED ?? 0)).toBe(90);
    expect(await counts(coupon.id)).toEqual({ issuedQuantity: 30, rows: 30, distinctUsers: 30 });
  });

  it('answers from the sold-out memory only for its TTL, so a later change of quantity is seen', async () => {
    const { clock, campaign, issueCoupon } = couponUseCases();
    const coupon = await campaign(1);
    const [first, second] = await insertUsers(database.db, 2);
    await issueCoupon.execute({ actor, couponId: coupon.id, userId: first! });
    await expect(issueCoupon.execute({ actor, couponId: coupon.id, userId: second! })).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
    });

    // A back office adding a copy, as the database would split it: one more stripe.
    await sql`UPDATE coupons SET total_quantity = 2 WHERE id = ${coupon.id}`.execute(database.db);
    await sql`INSERT INTO coupon_stripes (coupon_id, stripe, quantity) VALUES (${coupon.id}, 1, 1)`.execute(
      database.db,
    );
    await expect(issueCoupon.execute({ actor, couponId: coupon.id, userId: second! })).rejects.toMatchObject({
      code: 'COUPON_SOLD_OUT',
    });
    clock.advance(10_001);
    await expect(issueCoupon.execute({ actor, couponId: coupon.id, userId: second! })).resolves.toMatchObject({
      userId: second,
    });
    expect(await counts(coupon.id)).toEqual({ issuedQuantity: 2, rows: 2, distinctUsers: 2 });
  });

  it('refuses more copies than the total at the database too', async () => {
    const { campaign } = couponUseCases();
    const coupon = await campaign(1);
    await expect(
      sql`UPDATE coupon_stripes SET issued = 2 WHERE coupon_id = ${coupon.id}`.execute(database.db),
    ).rejects.toThrow(/coupon_stripes_issued_within_quantity/);
    const [userId] = await insertUsers(database.db, 1);
    const copy = {
      coupon_id: coupon.id,
      stripe: 0,
      user_id: userId!,
      issued_at: new Date(),
      expires_at: new Date(Date.now() + 1_000),
    };
    await database.db.insertInto('user_coupons').values(copy).execute();
    await expect(database.db.insertInto('user_coupons').values(copy).execute()).rejects.toThrow(
      /user_coupons_one_per_user/,
    );
  });
});
