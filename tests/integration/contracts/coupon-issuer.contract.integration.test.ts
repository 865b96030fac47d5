import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { IssueRefusal } from '../../../src/application/ports/coupon-repository.js';
import { anOpenUnitOfWork } from '../../support/unit-of-work.js';
import { type RepositoriesOption, appDependencies, createContainer } from '../../../src/container.js';
import { TOKENS } from '../../../src/container-tokens.js';
import type { CouponDraft } from '../../../src/domain/coupon/coupon.js';
import type { UserCoupon } from '../../../src/domain/coupon/user-coupon.js';
import { seed } from '../../support/seed.js';
import { untilTheDatabaseClockPasses, useTestDatabase } from '../../support/test-database.js';

/**
 * The CouponIssuer contract, run over both adapter sets: what the port's doc comment promises, asserted on
 * what the port answers and on what CouponQueries reads back. Each set is built by the composition root on
 * the system clock (the database's stands in for it on PostgreSQL), and seeded through its own use cases.
 */
const database = useTestDatabase();
const HOUR_MS = 3_600_000;
/** A copy's issue instant as the caller states it: the copy must carry it, whatever the store's clock says. */
const ISSUED_AT = new Date('2026-01-02T03:04:05.678Z');
/** An id no user of either store has. */
const NO_SUCH_USER = 999_999_999;

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * HOUR_MS);

function portsOf(repositories: RepositoriesOption, untilTheStoreClockPasses: (instant: Date) => Promise<void>) {
  const c = createContainer({ repositories });
  const coupons = c.resolve(TOKENS.CouponQueries);
  const make = seed(appDependencies(c));
  return {
    issuer: c.resolve(TOKENS.CouponIssuer),
    coupons,
    uow: c.resolve(TOKENS.UnitOfWork),
    untilTheStoreClockPasses,
    aUser: async () => (await make.user()).id,
    aCampaign: (terms?: Partial<CouponDraft>) => make.coupon(terms),
    issuedQuantityOf: async (couponId: number) => (await coupons.findById(couponId))?.issuedQuantity,
    /** The user's copies, newest first, whatever their status. */
    copiesOf: async (userId: number) =>
      (await coupons.listUserCoupons(userId, { now: new Date() }, { limit: 100 })).items,
  };
}

const adapters = [
  {
    name: 'PostgreSQL',
    make: () =>
      portsOf({ kind: 'POSTGRES', db: database.db }, (instant) => untilTheDatabaseClockPasses(database.db, instant)),
  },
  {
    name: 'in memory',
    make: () =>
      portsOf({ kind: 'IN_MEMORY' }, async (instant) => {
        while (Date.now() < instant.getTime()) await sleep(10);
      }),
  },
];

const refusals = (answers: (UserCoupon | IssueRefusal)[]) => answers.filter((answer) => typeof answer === 'string');
const copies = (answers: (UserCoupon | IssueRefusal)[]) => answers.filter((answer) => typeof answer !== 'string');

describe.each(adapters)('CouponIssuer on $name', ({ make }) => {
  it('stores the copy the draft describes, issued at its issuedAt, counts it, and its holder reads it back', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const terms = { name: 'Contract coupon', discountType: 'PERCENT', discountValue: 15, validDays: 7 } as const;
    const [userId, coupon] = [await aUser(), await aCampaign(terms)];
    const draft = coupon.copyFor(userId, ISSUED_AT);

    const copy = await issuer.issue(draft);

    expect(copy).toEqual({
      id: expect.any(Number),
      couponId: coupon.id,
      userId,
      name: 'Contract coupon',
      discountType: 'PERCENT',
      discountValue: 15,
      issuedAt: ISSUED_AT,
      expiresAt: new Date('2026-01-09T03:04:05.678Z'),
      usedAt: null,
      orderId: null,
    });
    expect(await copiesOf(userId)).toEqual([copy]);
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });

  it('issues one copy per user: ALREADY_ISSUED after that, counting nothing', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const [userId, coupon] = [await aUser(), await aCampaign()];
    const first = await issuer.issue(coupon.copyFor(userId, new Date()));

    expect(await issuer.issue(coupon.copyFor(userId, new Date()))).toBe('ALREADY_ISSUED');
    expect(await copiesOf(userId)).toEqual([first]);
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });

  it('issues totalQuantity copies, then SOLD_OUT, counting nothing more', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const coupon = await aCampaign({ totalQuantity: 2 });
    const users = [await aUser(), await aUser(), await aUser()];

    const answers: (UserCoupon | IssueRefusal)[] = [];
    for (const userId of users) answers.push(await issuer.issue(coupon.copyFor(userId, new Date())));

    expect(copies(answers).map((copy) => copy.userId)).toEqual(users.slice(0, 2));
    expect(answers[2]).toBe('SOLD_OUT');
    expect(await copiesOf(users[2]!)).toEqual([]);
    expect(await issuedQuantityOf(coupon.id)).toBe(2);
  });

  it('refuses no such user as USER_NOT_FOUND, counting nothing', async () => {
    const { issuer, aCampaign, issuedQuantityOf } = make();
    const coupon = await aCampaign();

    expect(await issuer.issue(coupon.copyFor(NO_SUCH_USER, new Date()))).toBe('USER_NOT_FOUND');
    expect(await issuedQuantityOf(coupon.id)).toBe(0);
  });

  it('answers SOLD_OUT, not ALREADY_ISSUED or USER_NOT_FOUND, when no copy is left to give', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf } = make();
    const [userId, coupon] = [await aUser(), await aCampaign({ totalQuantity: 1 })];
    await issuer.issue(coupon.copyFor(userId, new Date()));

    expect(await issuer.issue(coupon.copyFor(userId, new Date()))).toBe('SOLD_OUT');
    expect(await issuer.issue(coupon.copyFor(NO_SUCH_USER, new Date()))).toBe('SOLD_OUT');
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });

  it("refuses as NOT_ISSUABLE outside the window by the store's clock, though the draft's issuedAt is inside", async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const userId = await aUser();
    const notYet = await aCampaign({ issueStartsAt: hoursFromNow(1), issueEndsAt: hoursFromNow(3) });
    const over = await aCampaign({ issueStartsAt: hoursFromNow(-3), issueEndsAt: hoursFromNow(-1) });

    expect(await issuer.issue(notYet.copyFor(userId, hoursFromNow(2)))).toBe('NOT_ISSUABLE');
    expect(await issuer.issue(over.copyFor(userId, hoursFromNow(-2)))).toBe('NOT_ISSUABLE');
    expect(await copiesOf(userId)).toEqual([]);
    expect([await issuedQuantityOf(notYet.id), await issuedQuantityOf(over.id)]).toEqual([0, 0]);
  });

  it("issues inside the window by the store's clock, though the draft's issuedAt is outside it", async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf } = make();
    const userId = await aUser();
    const open = await aCampaign({ issueStartsAt: hoursFromNow(-1), issueEndsAt: hoursFromNow(1) });
    const issuedAt = hoursFromNow(-2);

    expect(await issuer.issue(open.copyFor(userId, issuedAt))).toMatchObject({ couponId: open.id, userId, issuedAt });
    expect(await issuedQuantityOf(open.id)).toBe(1);
  });

  it('answers NOT_ISSUABLE, not USER_NOT_FOUND, for no such user outside the window', async () => {
    const { issuer, aCampaign } = make();
    const over = await aCampaign({ issueStartsAt: null, issueEndsAt: hoursFromNow(-1) });

    expect(await issuer.issue(over.copyFor(NO_SUCH_USER, new Date()))).toBe('NOT_ISSUABLE');
  });

  it('answers NOT_ISSUABLE, not SOLD_OUT, once the window of a sold-out campaign has closed', async () => {
    const { issuer, aUser, aCampaign, untilTheStoreClockPasses } = make();
    const users = [await aUser(), await aUser()];
    const issueEndsAt = new Date(Date.now() + 1_000);
    const coupon = await aCampaign({ totalQuantity: 1, issueEndsAt });
    await issuer.issue(coupon.copyFor(users[0]!, new Date()));
    expect(await issuer.issue(coupon.copyFor(users[1]!, new Date()))).toBe('SOLD_OUT');

    await untilTheStoreClockPasses(issueEndsAt);

    expect(await issuer.issue(coupon.copyFor(users[1]!, new Date()))).toBe('NOT_ISSUABLE');
  });

  it('sells out at exactly totalQuantity under 30 concurrent issues on a campaign of 10', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const coupon = await aCampaign({ totalQuantity: 10 });
    const users: number[] = [];
    for (let i = 0; i < 30; i++) users.push(await aUser());

    const answers = await Promise.all(users.map((userId) => issuer.issue(coupon.copyFor(userId, new Date()))));

    const issued = copies(answers);
    expect(issued).toHaveLength(10);
    expect(new Set(issued.map((copy) => copy.id)).size).toBe(10);
    expect(refusals(answers)).toEqual(Array.from({ length: 20 }, () => 'SOLD_OUT'));
    expect(await issuedQuantityOf(coupon.id)).toBe(10);
    const held = (await Promise.all(users.map(copiesOf))).flat();
    expect(held.sort((a, b) => a.id - b.id)).toEqual(issued.sort((a, b) => a.id - b.id));
  });

  it('issues one copy under 10 concurrent issues for one user, the rest ALREADY_ISSUED', async () => {
    const { issuer, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const [userId, coupon] = [await aUser(), await aCampaign({ totalQuantity: 10 })];

    const answers = await Promise.all(
      Array.from({ length: 10 }, () => issuer.issue(coupon.copyFor(userId, new Date()))),
    );

    expect(copies(answers)).toHaveLength(1);
    expect(refusals(answers)).toEqual(Array.from({ length: 9 }, () => 'ALREADY_ISSUED'));
    expect(await copiesOf(userId)).toEqual(copies(answers));
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });

  it('joins the unit of work it is called in: undone with it, committed with it', async () => {
    const { issuer, uow, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const [userId, coupon] = [await aUser(), await aCampaign()];

    await expect(
      uow.run(async () => {
        expect(await issuer.issue(coupon.copyFor(userId, ISSUED_AT))).toMatchObject({ userId });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await copiesOf(userId)).toEqual([]);
    expect(await issuedQuantityOf(coupon.id)).toBe(0);

    const copy = await uow.run(() => issuer.issue(coupon.copyFor(userId, ISSUED_AT)));
    expect(await copiesOf(userId)).toEqual([copy]);
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });

  it('commits by itself outside a unit of work: a concurrent unit of work rolled back does not undo it', async () => {
    const { issuer, uow, aUser, aCampaign, issuedQuantityOf, copiesOf } = make();
    const [userId, coupon] = [await aUser(), await aCampaign()];
    const open = await anOpenUnitOfWork(uow);

    const issuing = issuer.issue(coupon.copyFor(userId, ISSUED_AT));

    await expect(open.rollBack()).rejects.toThrow('rolled back');
    const copy = await issuing;
    expect(copy).toMatchObject({ couponId: coupon.id, userId });
    expect(await copiesOf(userId)).toEqual([copy]);
    expect(await issuedQuantityOf(coupon.id)).toBe(1);
  });
});
