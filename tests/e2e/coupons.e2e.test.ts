import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import {
  type CouponView,
  type Page,
  type UserCouponView,
  aCoupon,
  aCouponFor,
  aUser,
  anIssuedCoupon,
  couponBody,
  issuedQuantityOf,
} from '../support/builders.js';
import { BAD_CURSORS, BAD_LIMITS, bearer, expectProblem, useTestApp } from '../support/test-app.js';
import { untilTheDatabaseClockPasses } from '../support/test-database.js';

const START = '2026-11-24T03:00:00.000Z';
const clock = new ManualClock(START);
// The clock jumps by days here; the tokens outlive the jumps (a token's own lifetime is not what these test).
const t = useTestApp({ clock, auth: { accessTokenTtlS: 366 * 86_400 } });

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const missing = 987_654_321;

const validCoupon = couponBody({
  name: 'Welcome',
  discountType: 'FIXED',
  discountValue: 1_000,
  totalQuantity: 100,
  validDays: 7,
});

const createCoupon = (payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/coupons',
    headers: bearer(t.adminToken),
    payload: payload as object,
  });
/** Public: no token. */
const getCoupon = (couponId: number | string) => t.app.inject({ method: 'GET', url: `/api/v1/coupons/${couponId}` });
/** As `token`: the customer's own, or by default the administrator's (who may act for anyone). */
const issue = (couponId: number | string, payload: unknown, token = t.adminToken) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/coupons/${couponId}/issue`,
    headers: bearer(token),
    payload: payload as object,
  });
const listUserCoupons = (userId: number | string, query = '', token = t.adminToken) =>
  t.app.inject({ method: 'GET', url: `/api/v1/users/${userId}/coupons${query}`, headers: bearer(token) });

/**
 * The issue window is judged by the database's clock, not the app's (this file's moves only the app's), so
 * windows here are set around the real now.
 */
const realIn = (ms: number) => new Date(Date.now() + ms).toISOString();
/** Soon enough to wait for, late enough that the requests before it are surely answered first. */
const SOON_MS = 1_500;
const untilOpenOrClosed = (instant: string) => untilTheDatabaseClockPasses(t.database.db, instant);

beforeEach(() => {
  clock.set(START);
});

describe('creating and reading coupons', () => {
  it('creates a campaign with nothing issued and no window, and answers it by id', async () => {
    const created = await createCoupon(validCoupon);
    expect(created.statusCode).toBe(201);
    const coupon = created.json<CouponView>();
    expect(coupon).toEqual({
      id: expect.any(Number),
      name: 'Welcome',
      discountType: 'FIXED',
      discountValue: 1_000,
      totalQuantity: 100,
      issuedQuantity: 0,
      issueStartsAt: null,
      issueEndsAt: null,
      validDays: 7,
    });

    const fetched = await getCoupon(coupon.id);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(coupon);
  });

  it('keeps an issue window as ISO 8601 UTC timestamps', async () => {
    const window = { issueStartsAt: '2026-12-01T00:00:00.000Z', issueEndsAt: '2026-12-08T15:00:00.000Z' };
    const coupon = await aCoupon(t.api, { discountType: 'PERCENT', discountValue: 15, ...window });
    expect(coupon).toMatchObject({ discountType: 'PERCENT', discountValue: 15, issuedQuantity: 0, ...window });
    expect((await getCoupon(coupon.id)).json()).toEqual(coupon);
  });

  it.each([
    [
      'a window open at the end only',
      { issueStartsAt: '2026-12-01T00:00:00.000Z' },
      { issueStartsAt: '2026-12-01T00:00:00.000Z', issueEndsAt: null },
    ],
    [
      'a window open at the start only',
      { issueEndsAt: '2026-12-01T00:00:00.000Z' },
      { issueStartsAt: null, issueEndsAt: '2026-12-01T00:00:00.000Z' },
    ],
    ['explicit nulls', { issueStartsAt: null, issueEndsAt: null }, { issueStartsAt: null, issueEndsAt: null }],
    [
      'a PERCENT discount of 100',
      { discountType: 'PERCENT', discountValue: 100 },
      { discountType: 'PERCENT', discountValue: 100 },
    ],
    ['a FIXED discount of 10,000,000', { discountValue: 10_000_000 }, { discountValue: 10_000_000 }],
    [
      'the largest quantity and validity',
      { totalQuantity: 10_000_000, validDays: 365 },
      { totalQuantity: 10_000_000, validDays: 365 },
    ],
    [
      'the smallest quantity, value and validity',
      { discountValue: 1, totalQuantity: 1, validDays: 1 },
      { discountValue: 1, totalQuantity: 1, validDays: 1 },
    ],
    [
      'a window with a UTC offset, answered in UTC',
      { issueStartsAt: '2026-12-01T09:00:00+09:00' },
      { issueStartsAt: '2026-12-01T00:00:00.000Z' },
    ],
    ['a name of 200 characters outside the basic plane', { name: '🎟'.repeat(200) }, { name: '🎟'.repeat(200) }],
  ])('accepts %s', async (_label, fields, expected) => {
    const created = await createCoupon({ ...validCoupon, ...fields });
    expect(created.statusCode).toBe(201);
    const coupon = created.json<CouponView>();
    expect(coupon).toMatchObject({ issuedQuantity: 0, ...expected });
    expect((await getCoupon(coupon.id)).json()).toEqual(coupon);
  });

  it('answers 404 COUPON_NOT_FOUND for a well-formed id that does not exist', async () => {
    const body = expectProblem(await getCoupon(missing), 404, 'COUPON_NOT_FOUND');
    expect(body).toMatchObject({ couponId: missing });
    expectProblem(await getCoupon('9007199254740991'), 404, 'COUPON_NOT_FOUND');
  });

  it.each([
    ['a PERCENT discount of 101', { discountType: 'PERCENT', discountValue: 101 }, 'discountValue'],
    ['a FIXED discount of 10,000,001', { discountType: 'FIXED', discountValue: 10_000_001 }, 'discountValue'],
    ['a zero discount', { discountValue: 0 }, 'discountValue'],
    ['a fractional discount', { discountValue: 10.5 }, 'discountValue'],
    ['an unknown discount type', { discountType: 'OTHER' }, 'discountType'],
    ['a lower-case discount type', { discountType: 'fixed' }, 'discountType'],
    ['a zero quantity', { totalQuantity: 0 }, 'totalQuantity'],
    ['a quantity over 10,000,000', { totalQuantity: 10_000_001 }, 'totalQuantity'],
    ['validDays 0', { validDays: 0 }, 'validDays'],
    ['validDays 366', { validDays: 366 }, 'validDays'],
    ['an empty name', { name: '' }, 'name'],
    ['a blank name', { name: '  ' }, 'name'],
    ['a name of 201 characters', { name: 'x'.repeat(201) }, 'name'],
    [
      'a window that ends before it starts',
      { issueStartsAt: '2026-12-02T00:00:00.000Z', issueEndsAt: '2026-12-01T00:00:00.000Z' },
      'issueEndsAt',
    ],
    [
      'a window that ends as it starts',
      { issueStartsAt: '2026-12-01T00:00:00.000Z', issueEndsAt: '2026-12-01T00:00:00.000Z' },
      'issueEndsAt',
    ],
    ['a date without a time', { issueStartsAt: '2026-12-01' }, 'issueStartsAt'],
    ['a time with a space', { issueStartsAt: '2026-12-01 00:00:00' }, 'issueStartsAt'],
    ['words for a time', { issueEndsAt: 'next tuesday' }, 'issueEndsAt'],
    ['an impossible date', { issueEndsAt: '2026-13-40T00:00:00.000Z' }, 'issueEndsAt'],
    ['epoch milliseconds', { issueStartsAt: 1_796_000_000_000 }, 'issueStartsAt'],
    ['a start past the year 9999 in UTC', { issueStartsAt: '9999-12-31T23:59:59-23:59' }, 'issueStartsAt'],
    ['an end before the year 0001 in UTC', { issueEndsAt: '0000-01-01T00:00:00+14:00' }, 'issueEndsAt'],
    ['an unknown field', { code: 'WELCOME' }, 'code'],
  ])('answers 400 for a campaign with %s', async (_label, fields, path) => {
    const body = expectProblem(await createCoupon({ ...validCoupon, ...fields }), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
  });

  it('names every missing field of an empty body', async () => {
    const body = expectProblem(await createCoupon({}), 400, 'INVALID_REQUEST');
    const paths = (body.errors as { path: string }[]).map((error) => error.path);
    expect(paths).toEqual(
      expect.arrayContaining(['name', 'discountType', 'discountValue', 'totalQuantity', 'validDays']),
    );
  });
});

describe('issuing a coupon', () => {
  it('issues an AVAILABLE copy that expires validDays after it was issued, and counts it', async () => {
    const coupon = await aCoupon(t.api, {
      name: 'Ten percent',
      discountType: 'PERCENT',
      discountValue: 10,
      validDays: 30,
    });
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);

    const response = await issue(coupon.id, { userId }, token);
    expect(response.statusCode).toBe(201);
    const copy = response.json<UserCouponView>();
    expect(copy).toEqual({
      userCouponId: expect.any(Number),
      couponId: coupon.id,
      userId,
      name: 'Ten percent',
      discountType: 'PERCENT',
      discountValue: 10,
      status: 'AVAILABLE',
      issuedAt: START,
      expiresAt: new Date(Date.parse(START) + 30 * DAY_MS).toISOString(),
      usedAt: null,
      orderId: null,
    });
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(1);
    expect((await listUserCoupons(userId, '', token)).json()).toEqual({ items: [copy], nextCursor: null });
  });

  it('answers 409 COUPON_ALREADY_ISSUED to a user who holds the coupon, and counts nothing more', async () => {
    const coupon = await aCoupon(t.api);
    const { id: userId } = await aUser(t.api);
    const customer = await t.as(userId);
    await anIssuedCoupon(customer, coupon.id, userId);

    const body = expectProblem(await issue(coupon.id, { userId }, customer.token), 409, 'COUPON_ALREADY_ISSUED');
    expect(body).toMatchObject({ couponId: coupon.id, userId });
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(1);
    expect((await listUserCoupons(userId, '', customer.token)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('answers 404 COUPON_NOT_FOUND for an unknown coupon', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    const body = expectProblem(await issue(missing, { userId }, token), 404, 'COUPON_NOT_FOUND');
    expect(body).toMatchObject({ couponId: missing });
    expect((await listUserCoupons(userId, '', token)).json()).toEqual({ items: [], nextCursor: null });
  });

  it('answers 404 USER_NOT_FOUND for an unknown user, and counts nothing', async () => {
    const coupon = await aCoupon(t.api);
    const body = expectProblem(await issue(coupon.id, { userId: missing }), 404, 'USER_NOT_FOUND');
    expect(body).toMatchObject({ userId: missing });
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(0);
  });

  it('answers COUPON_NOT_FOUND ahead of USER_NOT_FOUND when both are unknown', async () => {
    expectProblem(await issue(missing, { userId: missing }), 404, 'COUPON_NOT_FOUND');
  });

  it('answers USER_NOT_FOUND ahead of COUPON_NOT_ISSUABLE', async () => {
    const coupon = await aCoupon(t.api, { issueStartsAt: realIn(HOUR_MS), issueEndsAt: realIn(2 * HOUR_MS) });
    expectProblem(await issue(coupon.id, { userId: missing }), 404, 'USER_NOT_FOUND');
  });

  it('answers 409 COUPON_NOT_ISSUABLE before the window opens, and issues once it has', async () => {
    const coupon = await aCoupon(t.api, { issueStartsAt: realIn(SOON_MS), issueEndsAt: realIn(HOUR_MS) });
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);

    const body = expectProblem(await issue(coupon.id, { userId }, token), 409, 'COUPON_NOT_ISSUABLE');
    expect(body).toMatchObject({
      couponId: coupon.id,
      issueStartsAt: coupon.issueStartsAt,
      issueEndsAt: coupon.issueEndsAt,
    });
    // The app's clock says the window is open; the database's, which judges, does not yet.
    clock.set(coupon.issueEndsAt!);
    clock.advance(-1);
    expectProblem(await issue(coupon.id, { userId }, token), 409, 'COUPON_NOT_ISSUABLE');
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(0);
    expect((await listUserCoupons(userId, '', token)).json()).toEqual({ items: [], nextCursor: null });

    clock.set(START);
    await untilOpenOrClosed(coupon.issueStartsAt!);
    const issued = await issue(coupon.id, { userId }, token);
    expect(issued.statusCode).toBe(201);
    expect(issued.json()).toMatchObject({ status: 'AVAILABLE' });
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(1);
  });

  it('answers 409 COUPON_NOT_ISSUABLE once the window has closed', async () => {
    const coupon = await aCoupon(t.api, { issueStartsAt: realIn(-HOUR_MS), issueEndsAt: realIn(SOON_MS) });
    const { id: early } = await aUser(t.api);
    const { id: late } = await aUser(t.api);
    const lateToken = await t.tokenFor(late);

    expect((await issue(coupon.id, { userId: early }, await t.tokenFor(early))).statusCode).toBe(201);

    await untilOpenOrClosed(coupon.issueEndsAt!);
    const body = expectProblem(await issue(coupon.id, { userId: late }, lateToken), 409, 'COUPON_NOT_ISSUABLE');
    expect(body).toMatchObject({ couponId: coupon.id });
    // Whatever the app's clock says.
    clock.set(coupon.issueStartsAt!);
    expectProblem(await issue(coupon.id, { userId: late }, lateToken), 409, 'COUPON_NOT_ISSUABLE');
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(1);
    expect((await listUserCoupons(late, '', lateToken)).json()).toEqual({ items: [], nextCursor: null });
  });

  it('honours a window bounded at one end only', async () => {
    const opensSoon = await aCoupon(t.api, { issueStartsAt: realIn(SOON_MS) });
    const closesSoon = await aCoupon(t.api, { issueEndsAt: realIn(SOON_MS) });
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);

    expectProblem(await issue(opensSoon.id, { userId }, token), 409, 'COUPON_NOT_ISSUABLE');
    expect((await issue(closesSoon.id, { userId }, token)).statusCode).toBe(201);

    await untilOpenOrClosed(opensSoon.issueStartsAt!);
    const { id: other } = await aUser(t.api);
    expect((await issue(opensSoon.id, { userId }, token)).statusCode).toBe(201);
    expectProblem(await issue(closesSoon.id, { userId: other }, await t.tokenFor(other)), 409, 'COUPON_NOT_ISSUABLE');
  });

  it('answers 409 COUPON_SOLD_OUT once every copy is issued, and the count stays at the total', async () => {
    const coupon = await aCoupon(t.api, { totalQuantity: 2 });
    const { id: first } = await aUser(t.api);
    const { id: second } = await aUser(t.api);
    const { id: third } = await aUser(t.api);
    await anIssuedCoupon(await t.as(first), coupon.id, first);
    await anIssuedCoupon(await t.as(second), coupon.id, second);
    const thirdToken = await t.tokenFor(third);

    const body = expectProblem(await issue(coupon.id, { userId: third }, thirdToken), 409, 'COUPON_SOLD_OUT');
    expect(body).toMatchObject({ couponId: coupon.id, totalQuantity: 2 });
    expectProblem(await issue(coupon.id, { userId: third }, thirdToken), 409, 'COUPON_SOLD_OUT');
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(2);
    expect((await listUserCoupons(third, '', thirdToken)).json()).toEqual({ items: [], nextCursor: null });

    // Both hold for a holder asking again: either code is allowed.
    const again = await issue(coupon.id, { userId: first }, await t.tokenFor(first));
    expect(again.statusCode).toBe(409);
    expect(['COUPON_ALREADY_ISSUED', 'COUPON_SOLD_OUT']).toContain(again.json<{ code: string }>().code);
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(2);
  });

  it('issues exactly totalQuantity copies to 30 concurrent users of a campaign of 5', async () => {
    const coupon = await aCoupon(t.api, { totalQuantity: 5 });
    const users: number[] = [];
    for (let i = 0; i < 30; i++) users.push((await aUser(t.api, { name: `Rush ${i}` })).id);
    const tokens = await Promise.all(users.map((userId) => t.tokenFor(userId)));

    const responses = await Promise.all(users.map((userId, i) => issue(coupon.id, { userId }, tokens[i])));

    const issued = responses.filter((response) => response.statusCode === 201);
    const refused = responses.filter((response) => response.statusCode !== 201);
    expect(issued).toHaveLength(5);
    expect(refused).toHaveLength(25);
    for (const response of refused) expectProblem(response, 409, 'COUPON_SOLD_OUT');
    const copies = issued.map((response) => response.json<UserCouponView>());
    expect(new Set(copies.map((copy) => copy.userId)).size).toBe(5);
    expect(new Set(copies.map((copy) => copy.userCouponId)).size).toBe(5);
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(5);

    let held = 0;
    for (const [i, userId] of users.entries())
      held += (await listUserCoupons(userId, '', tokens[i])).json<{ items: unknown[] }>().items.length;
    expect(held).toBe(5);
  });

  it('issues one copy to a user who asks 10 times at once', async () => {
    const coupon = await aCoupon(t.api, { totalQuantity: 100 });
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);

    const responses = await Promise.all(Array.from({ length: 10 }, () => issue(coupon.id, { userId }, token)));

    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(1);
    for (const response of responses.filter((r) => r.statusCode !== 201))
      expectProblem(response, 409, 'COUPON_ALREADY_ISSUED');
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(1);
    expect((await listUserCoupons(userId, '', token)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });
});

describe('a user’s coupons', () => {
  it('lists an empty wallet as an empty page', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await listUserCoupons(userId, '', await t.tokenFor(userId));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [], nextCursor: null });
  });

  it('pages a wallet newest first, 20 copies unless told, visiting each copy once', async () => {
    const { id: userId } = await aUser(t.api);
    const copies: UserCouponView[] = [];
    for (let i = 0; i < 23; i++) copies.push(await aCouponFor(t.api, userId, { name: `Copy ${i}` }));
    const newestFirst = [...copies].reverse();
    const token = await t.tokenFor(userId);

    const first = (await listUserCoupons(userId, '', token)).json<Page<UserCouponView>>();
    expect(first.items).toEqual(newestFirst.slice(0, 20));
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = await listUserCoupons(userId, `?cursor=${first.nextCursor}`, token);
    expect(rest.json()).toEqual({ items: newestFirst.slice(20), nextCursor: null });

    const seen: UserCouponView[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=5&cursor=${cursor}` : '?limit=5';
      const page = await listUserCoupons(userId, query, token);
      expect(page.statusCode).toBe(200);
      const body = page.json<Page<UserCouponView>>();
      seen.push(...body.items);
      sizes.push(body.items.length);
      cursor = body.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([5, 5, 5, 5, 3]);
    expect(seen).toEqual(newestFirst);
  });

  it('pages a status filter: each page holds only that status, newest first, none skipped', async () => {
    const { id: userId } = await aUser(t.api);
    const copies: UserCouponView[] = [];
    for (let i = 0; i < 7; i++) {
      copies.push(await aCouponFor(t.api, userId, { name: `Copy ${i}`, validDays: i % 2 === 0 ? 1 : 30 }));
    }
    clock.advance(DAY_MS);
    const token = await t.tokenFor(userId);
    const pagesOf = async (status: string) => {
      const pages: UserCouponView[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?status=${status}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await listUserCoupons(userId, query, token);
        expect(page.statusCode).toBe(200);
        const body = page.json<Page<UserCouponView>>();
        pages.push(body.items);
        cursor = body.nextCursor;
      } while (cursor);
      return pages;
    };

    const expired = copies.filter((_, i) => i % 2 === 0).reverse();
    const available = copies.filter((_, i) => i % 2 === 1).reverse();
    expect(await pagesOf('EXPIRED')).toEqual([
      expired.slice(0, 2).map((copy) => ({ ...copy, status: 'EXPIRED' })),
      expired.slice(2, 4).map((copy) => ({ ...copy, status: 'EXPIRED' })),
    ]);
    expect(await pagesOf('AVAILABLE')).toEqual([available.slice(0, 2), available.slice(2, 3)]);
    expect(await pagesOf('USED')).toEqual([[]]);
  });

  it.each(BAD_LIMITS)('answers 400 for limit=%s', async (limit) => {
    const { id: userId } = await aUser(t.api);
    const response = await listUserCoupons(userId, `?limit=${limit}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'limit', message: expect.any(String) },
    ]);
  });

  it.each(BAD_CURSORS)('answers 400 for a cursor that is %s', async (_label, cursor) => {
    const { id: userId } = await aUser(t.api);
    const response = await listUserCoupons(userId, `?status=AVAILABLE&cursor=${cursor}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'cursor', message: expect.any(String) },
    ]);
  });

  it('lists the coupons a user holds, newest first, and only theirs', async () => {
    const { id: userId } = await aUser(t.api);
    const { id: other } = await aUser(t.api);
    const coupons = [
      await aCoupon(t.api, { name: 'First' }),
      await aCoupon(t.api, { name: 'Second' }),
      await aCoupon(t.api, { name: 'Third' }),
    ];
    const copies: UserCouponView[] = [];
    for (const coupon of coupons) {
      copies.push(await anIssuedCoupon(t.api, coupon.id, userId));
      clock.advance(60_000);
    }
    await anIssuedCoupon(t.api, coupons[0]!.id, other);

    const response = await listUserCoupons(userId, '', await t.tokenFor(userId));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [...copies].reverse(), nextCursor: null });
    expect(response.json<{ items: UserCouponView[] }>().items.map((copy) => copy.name)).toEqual([
      'Third',
      'Second',
      'First',
    ]);
  });

  it('filters by status, and shows a copy EXPIRED from its expiresAt on', async () => {
    const { id: userId } = await aUser(t.api);
    const short = await aCoupon(t.api, { name: 'One day', validDays: 1 });
    const long = await aCoupon(t.api, { name: 'Thirty days', validDays: 30 });
    const shortCopy = await anIssuedCoupon(t.api, short.id, userId);
    const longCopy = await anIssuedCoupon(t.api, long.id, userId);
    expect(shortCopy.expiresAt).toBe(new Date(Date.parse(START) + DAY_MS).toISOString());

    const token = await t.tokenFor(userId);
    const list = async (query: string) => {
      const response = await listUserCoupons(userId, query, token);
      expect(response.statusCode).toBe(200);
      return response.json<{ items: UserCouponView[] }>().items;
    };

    expect(await list('?status=AVAILABLE')).toEqual([longCopy, shortCopy]);
    expect(await list('?status=EXPIRED')).toEqual([]);
    expect(await list('?status=USED')).toEqual([]);

    clock.set(new Date(Date.parse(shortCopy.expiresAt) - 1));
    expect(await list('?status=AVAILABLE')).toEqual([longCopy, shortCopy]);
    expect(await list('?status=EXPIRED')).toEqual([]);

    clock.set(shortCopy.expiresAt);
    const expired = { ...shortCopy, status: 'EXPIRED' };
    expect(await list('')).toEqual([longCopy, expired]);
    expect(await list('?status=AVAILABLE')).toEqual([longCopy]);
    expect(await list('?status=EXPIRED')).toEqual([expired]);
    expect(await list('?status=USED')).toEqual([]);

    clock.set(longCopy.expiresAt);
    expect(await list('?status=AVAILABLE')).toEqual([]);
    expect(await list('?status=EXPIRED')).toEqual([{ ...longCopy, status: 'EXPIRED' }, expired]);
  });

  it('answers 404 USER_NOT_FOUND for a user who does not exist, whatever the filter or page', async () => {
    expect(expectProblem(await listUserCoupons(missing), 404, 'USER_NOT_FOUND')).toMatchObject({ userId: missing });
    expectProblem(await listUserCoupons(missing, '?status=AVAILABLE'), 404, 'USER_NOT_FOUND');
    expectProblem(await listUserCoupons(missing, '?limit=5'), 404, 'USER_NOT_FOUND');
  });

  it.each(['OTHER', 'available', 'EXPIRED,USED', ''])('answers 400 for status=%s', async (status) => {
    const { id: userId } = await aUser(t.api);
    const body = expectProblem(
      await listUserCoupons(userId, `?status=${status}`, await t.tokenFor(userId)),
      400,
      'INVALID_REQUEST',
    );
    expect(body.errors).toEqual([{ path: 'status', message: expect.any(String) }]);
  });
});

describe('bad input on the coupon routes', () => {
  it.each(['abc', '0', '-1', '1.5', '01', '9007199254740992', '99999999999999999999', '1e3'])(
    'answers 400 for the path id %s',
    async (id) => {
      const { id: userId } = await aUser(t.api);
      for (const response of [await getCoupon(id), await issue(id, { userId })]) {
        const body = expectProblem(response, 400, 'INVALID_REQUEST');
        expect(body.errors).toEqual([{ path: 'couponId', message: expect.any(String) }]);
      }
      const body = expectProblem(await listUserCoupons(id), 400, 'INVALID_REQUEST');
      expect(body.errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
    },
  );

  it.each([
    ['missing', {}, 'userId'],
    ['zero', { userId: 0 }, 'userId'],
    ['negative', { userId: -1 }, 'userId'],
    ['a fraction', { userId: 1.5 }, 'userId'],
    ['a string', { userId: '1' }, 'userId'],
    ['null', { userId: null }, 'userId'],
    ['beyond 2^53', { userId: 9_007_199_254_740_992 }, 'userId'],
    ['with an unknown field', { userId: 1, note: 'hi' }, 'note'],
  ])('answers 400 for an issue body whose userId is %s, and issues nothing', async (_label, payload, path) => {
    const coupon = await aCoupon(t.api);
    const body = expectProblem(await issue(coupon.id, payload), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect(await issuedQuantityOf(t.api, coupon.id)).toBe(0);
  });

  it('answers 400 for a malformed JSON issue body', async () => {
    const coupon = await aCoupon(t.api);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/coupons/${coupon.id}/issue`,
      headers: { ...bearer(t.adminToken), 'content-type': 'application/json' },
      payload: '{"userId": 1',
    });
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([{ path: '', message: expect.any(String) }]);
  });
});
