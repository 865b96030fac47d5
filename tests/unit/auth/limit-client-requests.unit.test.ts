import { describe, expect, it } from 'vitest';
import { InMemoryClientRequestCounter } from '../../../src/adapters/memory/in-memory-client-request-counter.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { LimitClientRequests } from '../../../src/application/auth/limit-client-requests.js';
import { ClientRateLimitedError } from '../../../src/domain/account/account-errors.js';
import { CLIENT_RATE_WINDOW_MS } from '../../../src/domain/account/client-rate-limit.js';

function limiter(limit: number) {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const counter = new InMemoryClientRequestCounter(clock);
  return { clock, counter, limit: new LimitClientRequests(counter, limit) };
}

describe('LimitClientRequests', () => {
  it('lets `limit` requests of an address through in its window, refuses the next until the window ends', async () => {
    const { clock, limit } = limiter(3);
    for (let i = 0; i < 3; i++) await limit.execute({ clientAddress: '192.0.2.1' });
    clock.advance(20_000);
    const refusal = limit.execute({ clientAddress: '192.0.2.1' });
    await expect(refusal).rejects.toBeInstanceOf(ClientRateLimitedError);
    await expect(refusal).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 40 });
    // Another address has a budget of its own.
    await expect(limit.execute({ clientAddress: '192.0.2.2' })).resolves.toBeUndefined();
    // Once the window that began with the first request is over, the address starts afresh.
    clock.advance(CLIENT_RATE_WINDOW_MS - 20_000);
    await expect(limit.execute({ clientAddress: '192.0.2.1' })).resolves.toBeUndefined();
  });

  it('purges the counts of windows that have ended, and only those', async () => {
    const { clock, counter, limit } = limiter(3);
    await limit.execute({ clientAddress: '192.0.2.1' });
    clock.advance(30_000);
    await limit.execute({ clientAddress: '192.0.2.2' });
    clock.advance(CLIENT_RATE_WINDOW_MS - 30_000);
    await expect(counter.purge(CLIENT_RATE_WINDOW_MS)).resolves.toBe(1);
    await expect(counter.count('192.0.2.2', CLIENT_RATE_WINDOW_MS)).resolves.toEqual({
      count: 2,
      windowEndsInMs: 30_000,
    });
  });
});
