import { describe, expect, it } from 'vitest';
import { InMemoryLoginAttempts } from '../../../src/adapters/memory/in-memory-accounts.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import {
  LOGIN_FAILURE_LIMIT,
  LOGIN_FAILURE_LIMIT_ALL_ADDRESSES,
  LOGIN_FAILURE_WINDOW_MS,
} from '../../../src/domain/account/refresh-token.js';

const LIMITS = { perAddress: LOGIN_FAILURE_LIMIT, allAddresses: LOGIN_FAILURE_LIMIT_ALL_ADDRESSES };

function setUp() {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  return { clock, attempts: new InMemoryLoginAttempts(new InMemoryStore(), clock) };
}

describe('InMemoryLoginAttempts', () => {
  it('refuses an address its 11th attempt for an email until its first leaves the window; others go on', async () => {
    const { clock, attempts } = setUp();
    const from = (clientAddress: string) => ({ email: 'Ana@example.com', clientAddress });
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      await expect(attempts.reserve(from('192.0.2.1'), LIMITS, LOGIN_FAILURE_WINDOW_MS)).resolves.toMatchObject({
        granted: true,
      });
      clock.advance(1_000);
    }
    await expect(attempts.reserve(from('192.0.2.1'), LIMITS, LOGIN_FAILURE_WINDOW_MS)).resolves.toEqual({
      granted: false,
      retryAfterMs: LOGIN_FAILURE_WINDOW_MS - 10_000,
    });
    await expect(attempts.reserve(from('192.0.2.2'), LIMITS, LOGIN_FAILURE_WINDOW_MS)).resolves.toMatchObject({
      granted: true,
    });
    clock.advance(LOGIN_FAILURE_WINDOW_MS - 10_000);
    await expect(attempts.reserve(from('192.0.2.1'), LIMITS, LOGIN_FAILURE_WINDOW_MS)).resolves.toMatchObject({
      granted: true,
    });
  });

  it('refuses every address once the email has 100 attempts from all of them', async () => {
    const { attempts } = setUp();
    for (let i = 0; i < LOGIN_FAILURE_LIMIT_ALL_ADDRESSES; i++) {
      const slot = await attempts.reserve(
        { email: 'ana@example.com', clientAddress: `198.51.100.${i % 20}` },
        LIMITS,
        LOGIN_FAILURE_WINDOW_MS,
      );
      expect(slot.granted).toBe(true);
    }
    await expect(
      attempts.reserve({ email: 'ANA@example.com', clientAddress: '203.0.113.1' }, LIMITS, LOGIN_FAILURE_WINDOW_MS),
    ).resolves.toEqual({ granted: false, retryAfterMs: LOGIN_FAILURE_WINDOW_MS });
    await expect(
      attempts.reserve({ email: 'bo@example.com', clientAddress: '203.0.113.1' }, LIMITS, LOGIN_FAILURE_WINDOW_MS),
    ).resolves.toMatchObject({ granted: true });
  });
});
