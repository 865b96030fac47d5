import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { newSigningKeyPem, parseSigningKey } from '../../../src/adapters/auth/signing-keys.js';
import { InMemoryRefreshTokens } from '../../../src/adapters/memory/in-memory-accounts.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { PgRefreshTokens } from '../../../src/adapters/postgres/pg-refresh-tokens.js';
import type { RefreshTokenPurge } from '../../../src/application/ports/refresh-token-repository.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { InvalidRefreshTokenError } from '../../../src/domain/account/account-errors.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();
const signingKey = parseSigningKey(newSigningKeyPem());
const PASSWORD = 'correct horse battery';
const T0 = new Date('2026-11-24T03:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const HOUR_S = 3_600;

/** The same behaviour of both adapters: the fake must not keep or drop anything PostgreSQL would not. */
describe.each(['memory', 'postgres'] as const)('purging refresh tokens (%s)', (kind) => {
  function setUp() {
    const store = new InMemoryStore();
    const clock = new ManualClock(T0);
    const container = createContainer({
      repositories: kind === 'postgres' ? { kind: 'POSTGRES', db: database.db } : { kind: 'IN_MEMORY', store },
      clock,
      auth: { signingKey, refreshTokenTtlS: HOUR_S },
    });
    const purge: RefreshTokenPurge =
      kind === 'postgres' ? new PgRefreshTokens(database.db) : new InMemoryRefreshTokens(store);
    /** The families and tokens stored for the user's logins. */
    const stored = async (userId: number) => {
      if (kind === 'memory') {
        const families = [...store.state.refreshFamilies].filter(([, f]) => f.userId === userId).map(([id]) => id);
        const tokens = [...store.state.refreshTokens.values()].filter((t) => families.includes(t.familyId));
        return { families: families.length, tokens: tokens.length };
      }
      return {
        families: await scalar(
          database.db,
          sql`SELECT count(*) AS value FROM refresh_token_families WHERE user_id = ${userId}`,
        ),
        tokens: await scalar(
          database.db,
          sql`SELECT count(*) AS value FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
              WHERE f.user_id = ${userId}`,
        ),
      };
    };
    return { clock, purge, stored, ...appDependencies(container) };
  }

  it('deletes logins past their lifetime, ended or not, with their spent tokens, in batches; keeps the rest', async () => {
    const shop = setUp();
    const email = `purge-${kind}-${Date.now()}@example.com`;
    const user = await shop.signUp.execute({ email, password: PASSWORD, name: 'Purge' });
    const logIn = () => shop.logIn.execute({ email, password: PASSWORD, clientAddress: '192.0.2.1' });

    // Two logins that expire an hour after T0: one rotated once (a spent token and a live one), one logged out.
    const expired = await logIn();
    const ended = await logIn();
    await shop.logOut.execute({ refreshToken: ended.refreshToken });
    shop.clock.set(at(10));
    const expiredNext = await shop.refreshSession.execute({ refreshToken: expired.refreshToken });
    // A login that has just expired when the purge runs, and one still alive; both rotated once.
    shop.clock.set(at(110));
    const justExpired = await logIn();
    const justExpiredNext = await shop.refreshSession.execute({ refreshToken: justExpired.refreshToken });
    shop.clock.set(at(180));
    const live = await logIn();
    const liveNext = await shop.refreshSession.execute({ refreshToken: live.refreshToken });
    expect(await shop.stored(user.id)).toEqual({ families: 4, tokens: 7 });

    // What expired before 2:45 goes (the 1:00 pair), what expired at 2:50 or lives on stays; a batch of one
    // family or token at a time still gets through all of them.
    await expect(shop.purge.purge(at(165), 1)).resolves.toBe(2);
    expect(await shop.stored(user.id)).toEqual({ families: 2, tokens: 4 });
    await expect(shop.purge.purge(at(165), 1)).resolves.toBe(0);

    for (const { refreshToken } of [expired, expiredNext, ended])
      await expect(shop.refreshSession.execute({ refreshToken })).rejects.toBeInstanceOf(InvalidRefreshTokenError);
    // The kept logins' spent tokens still count as theft: presented again, they end their login.
    for (const [spent, next] of [
      [justExpired, justExpiredNext],
      [live, liveNext],
    ] as const) {
      await expect(shop.refreshSession.execute({ refreshToken: spent.refreshToken })).rejects.toBeInstanceOf(
        InvalidRefreshTokenError,
      );
      await expect(shop.refreshSession.execute({ refreshToken: next.refreshToken })).rejects.toBeInstanceOf(
        InvalidRefreshTokenError,
      );
    }
    // And the user can log in and refresh as before.
    const again = await logIn();
    await expect(shop.refreshSession.execute({ refreshToken: again.refreshToken })).resolves.toMatchObject({
      account: { id: user.id },
    });
  });
});
