import { describe, expect, it } from 'vitest';
import { type UserView, aCharge, aUser, balanceOf, userBody } from '../support/builders.js';
import { BAD_CURSORS, BAD_LIMITS, bearer, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

/** As `token` (the customer's own, or by default the administrator's, who may act for anyone). */
const charge = (userId: number | string, payload: unknown, token = t.adminToken) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/users/${userId}/balance/charge`,
    headers: bearer(token),
    payload: payload as object,
  });
const get = (url: string, token = t.adminToken) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('balance over HTTP', () => {
  it('creates a user whose balance starts at 0, dated at its creation', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: bearer(t.adminToken),
      payload: userBody({ name: 'Ana' }),
    });
    expect(created.statusCode).toBe(201);
    const user = created.json<UserView>();
    expect(user).toEqual({ id: expect.any(Number), name: 'Ana', createdAt: expect.stringMatching(/Z$/) });

    const balance = await get(`/api/v1/users/${user.id}/balance`, await t.tokenFor(user.id));
    expect(balance.statusCode).toBe(200);
    expect(balance.json()).toEqual({ userId: user.id, balance: 0, updatedAt: user.createdAt });
  });

  it('charges, answers the balance after, and records the charge in the history', async () => {
    const { id: userId } = await aUser(t.api);
    const token = await t.tokenFor(userId);
    expect((await charge(userId, { amount: 3_000 }, token)).json()).toEqual({
      userId,
      balance: 3_000,
      charged: 3_000,
    });
    const second = await charge(userId, { amount: 2_000 }, token);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ userId, balance: 5_000, charged: 2_000 });

    const history = await get(`/api/v1/users/${userId}/balance/history`, token);
    expect(history.statusCode).toBe(200);
    expect(history.json()).toEqual({
      items: [
        {
          id: expect.any(Number),
          type: 'CHARGE',
          amount: 2_000,
          balanceAfter: 5_000,
          orderId: null,
          createdAt: expect.any(String),
        },
        {
          id: expect.any(Number),
          type: 'CHARGE',
          amount: 3_000,
          balanceAfter: 3_000,
          orderId: null,
          createdAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
  });

  it('pages the history with an opaque cursor, visiting every entry once', async () => {
    const { id: userId } = await aUser(t.api);
    const customer = await t.as(userId);
    for (let amount = 1; amount <= 7; amount++) await aCharge(customer, userId, amount);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await get(`/api/v1/users/${userId}/balance/history${query}`, customer.token);
      expect(page.statusCode).toBe(200);
      const body = page.json<{ items: { amount: number }[]; nextCursor: string | null }>();
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((item) => item.amount));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('answers 404 USER_NOT_FOUND for a well-formed id that does not exist, on every balance route', async () => {
    const missing = 987_654_321;
    expectProblem(await get(`/api/v1/users/${missing}/balance`), 404, 'USER_NOT_FOUND');
    expectProblem(await get(`/api/v1/users/${missing}/balance/history`), 404, 'USER_NOT_FOUND');
    expectProblem(await charge(missing, { amount: 1 }), 404, 'USER_NOT_FOUND');
  });

  it('answers 409 BALANCE_LIMIT_EXCEEDED past 1,000,000,000 and leaves the balance as it was', async () => {
    const { id: userId } = await aUser(t.api);
    for (let i = 0; i < 100; i++) await aCharge(t.api, userId, 10_000_000);

    const body = expectProblem(
      await charge(userId, { amount: 1 }, await t.tokenFor(userId)),
      409,
      'BALANCE_LIMIT_EXCEEDED',
    );
    expect(body).toMatchObject({ userId, balance: 1_000_000_000, amount: 1, limit: 1_000_000_000 });
    expect(await balanceOf(t.api, userId)).toBe(1_000_000_000);
  });
});

describe('bad input on the balance routes', () => {
  it.each(['abc', '0', '-1', '1.5', '01', '9007199254740992', '99999999999999999999', '1e3'])(
    'answers 400 for the path id %s',
    async (id) => {
      for (const response of [
        await get(`/api/v1/users/${id}/balance`),
        await get(`/api/v1/users/${id}/balance/history`),
        await charge(id, { amount: 1 }),
      ]) {
        const body = expectProblem(response, 400, 'INVALID_REQUEST');
        expect(body.errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
      }
    },
  );

  it('accepts the largest safe integer id as well-formed (404, not 400)', async () => {
    expectProblem(await get('/api/v1/users/9007199254740991/balance'), 404, 'USER_NOT_FOUND');
  });

  it.each([
    ['zero', { amount: 0 }, 'amount'],
    ['negative', { amount: -5 }, 'amount'],
    ['a fraction', { amount: 10.5 }, 'amount'],
    ['over the per-charge limit', { amount: 10_000_001 }, 'amount'],
    ['a string', { amount: '100' }, 'amount'],
    ['null', { amount: null }, 'amount'],
    ['missing', {}, 'amount'],
    ['with an unknown field', { amount: 100, note: 'hi' }, 'note'],
    ['an array body', [100], ''],
  ])('answers 400 for an amount that is %s and changes nothing', async (_label, payload, path) => {
    const { id: userId } = await aUser(t.api);
    const body = expectProblem(await charge(userId, payload, await t.tokenFor(userId)), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect(await balanceOf(t.api, userId)).toBe(0);
  });

  it('answers 400 for malformed JSON, with the body as the path', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${userId}/balance/charge`,
      headers: { ...bearer(await t.tokenFor(userId)), 'content-type': 'application/json' },
      payload: '{"amount": 10',
    });
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([{ path: '', message: expect.any(String) }]);
  });

  it('answers 400 for an empty JSON body', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${userId}/balance/charge`,
      headers: { ...bearer(await t.tokenFor(userId)), 'content-type': 'application/json' },
      payload: '',
    });
    expectProblem(response, 400, 'INVALID_REQUEST');
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over 1 MiB', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${userId}/balance/charge`,
      headers: { ...bearer(await t.tokenFor(userId)), 'content-type': 'application/json' },
      payload: JSON.stringify({ amount: 1, padding: 'x'.repeat(1_100_000) }),
    });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const { id: userId } = await aUser(t.api);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/users/${userId}/balance/charge`,
      headers: { ...bearer(await t.tokenFor(userId)), 'content-type': 'text/plain' },
      payload: 'amount=1',
    });
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it.each(BAD_LIMITS)('answers 400 for limit=%s', async (limit) => {
    const { id: userId } = await aUser(t.api);
    const response = await get(`/api/v1/users/${userId}/balance/history?limit=${limit}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'limit', message: expect.any(String) },
    ]);
  });

  it.each(BAD_CURSORS)('answers 400 for a cursor that is %s', async (_label, cursor) => {
    const { id: userId } = await aUser(t.api);
    const response = await get(`/api/v1/users/${userId}/balance/history?cursor=${cursor}`, await t.tokenFor(userId));
    expect(expectProblem(response, 400, 'INVALID_REQUEST').errors).toEqual([
      { path: 'cursor', message: expect.any(String) },
    ]);
  });

  it.each([
    ['empty', { name: '' }],
    ['blank', { name: '   ' }],
    ['too long', { name: 'x'.repeat(101) }],
    ['not a string', { name: 42 }],
    ['with an unknown field', { name: 'Ana', admin: true }],
  ])('answers 400 for a user name that is %s', async (_label, payload) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: bearer(t.adminToken),
      payload,
    });
    expectProblem(response, 400, 'INVALID_REQUEST');
  });
});
