import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PgLoginAttempts } from '../../../src/adapters/postgres/pg-login-attempts.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import {
  LOGIN_FAILURE_LIMIT,
  LOGIN_FAILURE_LIMIT_ALL_ADDRESSES,
  LOGIN_FAILURE_WINDOW_MS,
} from '../../../src/domain/account/refresh-token.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 24 });
const PASSWORD = 'correct horse battery';
const LIMITS = { perAddress: LOGIN_FAILURE_LIMIT, allAddresses: LOGIN_FAILURE_LIMIT_ALL_ADDRESSES };

let emails = 0;
const freshEmail = (tag: string) => `${tag}-${++emails}-${Date.now()}@example.com`;

const codes = (results: PromiseSettledResult<unknown>[]) =>
  results.map((r) => (r.status === 'fulfilled' ? 'OK' : String((r.reason as { code?: unknown }).code ?? r.reason)));
const tally = (values: string[]) =>
  Object.fromEntries([...new Set(values)].sort().map((v) => [v, values.filter((x) => x === v).length]));

describe('failed logins per email and client address on PostgreSQL', () => {
  it('of 30 concurrent wrong passwords from one address on two instances, refuses exactly 20; another address gets in', async () => {
    const [a, b] = [0, 1].map(() =>
      appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db } })),
    ) as [ReturnType<typeof appDependencies>, ReturnType<typeof appDependencies>];
    const email = freshEmail('storm');
    await a.signUp.execute({ email, password: PASSWORD, name: 'Storm' });
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).logIn.execute({ email, password: `wrong ${i}`, clientAddress: '203.0.113.1' }),
      ),
    );
    expect(tally(codes(results))).toEqual({ INVALID_CREDENTIALS: 10, TOO_MANY_REQUESTS: 20 });
    await expect(a.logIn.execute({ email, password: PASSWORD, clientAddress: '203.0.113.1' })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    });
    await expect(b.logIn.execute({ email, password: PASSWORD, clientAddress: '203.0.113.2' })).resolves.toMatchObject({
      account: { email },
    });
  });

  it('of 300 concurrent attempts from 30 addresses, grants exactly 100 and no address more than 10', async () => {
    const attempts = new PgLoginAttempts(database.db);
    const email = freshEmail('siege');
    const addresses = Array.from({ length: 30 }, (_, i) => `198.51.100.${i + 1}`);
    const slots = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        attempts.reserve({ email, clientAddress: addresses[i % 30]! }, LIMITS, LOGIN_FAILURE_WINDOW_MS),
      ),
    );
    expect(slots.filter((slot) => slot.granted)).toHaveLength(LOGIN_FAILURE_LIMIT_ALL_ADDRESSES);
    const perAddress = await sql<{ n: string }>`
      SELECT count(*) AS n FROM login_attempts WHERE email_key = ${email} GROUP BY client_address`.execute(database.db);
    expect(Math.max(...perAddress.rows.map((row) => Number(row.n)))).toBeLessThanOrEqual(LOGIN_FAILURE_LIMIT);
    await expect(
      scalar(
        database.db,
        sql<{ value: number }>`SELECT count(*) AS value FROM login_attempts WHERE email_key = ${email}`,
      ),
    ).resolves.toBe(LOGIN_FAILURE_LIMIT_ALL_ADDRESSES);
    // A new address is refused too, told to wait until the oldest of the hundred leaves the window.
    const late = await attempts.reserve({ email, clientAddress: '192.0.2.200' }, LIMITS, LOGIN_FAILURE_WINDOW_MS);
    expect(late).toMatchObject({ granted: false });
    if (!late.granted) expect(late.retryAfterMs).toBeGreaterThan(LOGIN_FAILURE_WINDOW_MS - 60_000);
  });

  it('gives a successful attempt back, so only failures count toward either limit', async () => {
    const attempts = new PgLoginAttempts(database.db);
    const email = freshEmail('back');
    const key = { email, clientAddress: '203.0.113.9' };
    for (let i = 0; i < 3 * LOGIN_FAILURE_LIMIT; i++) {
      const slot = await attempts.reserve(key, LIMITS, LOGIN_FAILURE_WINDOW_MS);
      expect(slot.granted).toBe(true);
      if (slot.granted) await attempts.forget(slot.attemptId);
    }
  });
});
