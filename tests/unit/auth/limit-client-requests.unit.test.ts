import { describe, expect, it } from 'vitest';
import { InMemoryClientRequestCounter } from '../../../src/adapters/memory/in-memory-client-request-counter.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { LimitClientRequests } from '../../../src/application/auth/limit-client-requests.js';
import type {
  ClientRequestCount,
  ClientRequestCounter,
} from '../../../src/application/ports/client-request-counter.js';
import { ClientRateLimitedError } from '../../../src/domain/account/account-errors.js';
import { CLIENT_RATE_WINDOW_MS } from '../../../src/domain/account/client-rate-limit.js';

function limiter(limit: number) {
  const clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const counter = new InMemoryClientRequestCounter(clock);
  return { clock, counter, limit: new LimitClientRequests(counter, limit, clock) };
}

/** What a settled request was refused with; undefined when it was let through. */
const reasonOf = (result: PromiseSettledResult<void>): unknown =>
  result.status === 'rejected' ? (result.reason as unknown) : undefined;

/** The shared counter as the database is: every call measured, answers a tick later. */
class WatchedCounter implements ClientRequestCounter {
  calls = 0;
  inFlight = 0;
  mostInFlight = 0;

  constructor(private readonly counter: ClientRequestCounter) {}

  async count(clientAddress: string, windowMs: number): Promise<ClientRequestCount> {
    this.calls++;
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      return await this.counter.count(clientAddress, windowMs);
    } finally {
      this.inFlight--;
    }
  }

  purge(windowMs: number): Promise<number> {
    return this.counter.purge(windowMs);
  }
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

  it("asks the shared counter once at a time per address, and not again once it refused, until the window's end", async () => {
    const clock = new ManualClock('2026-11-24T03:00:00.000Z');
    const counter = new WatchedCounter(new InMemoryClientRequestCounter(clock));
    const limit = new LimitClientRequests(counter, 3, clock);
    const fromOne = () => limit.execute({ clientAddress: '192.0.2.1' });

    await expect(Promise.all([fromOne(), fromOne(), fromOne()])).resolves.toHaveLength(3);
    expect(counter.mostInFlight).toBe(1);
    await expect(fromOne()).rejects.toMatchObject({ retryAfterSeconds: 60 });
    expect(counter.calls).toBe(4);

    clock.advance(20_000);
    const refused = await Promise.allSettled([fromOne(), fromOne(), fromOne()]);
    expect(refused.map(reasonOf)).toEqual(
      Array(3).fill(expect.objectContaining({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 40 })),
    );
    expect(counter.calls).toBe(4);
    // Other addresses are asked about meanwhile, side by side.
    await Promise.all([limit.execute({ clientAddress: '192.0.2.2' }), limit.execute({ clientAddress: '192.0.2.3' })]);
    expect(counter.mostInFlight).toBe(2);
    clock.advance(CLIENT_RATE_WINDOW_MS - 20_000);
    await expect(fromOne()).resolves.toBeUndefined();
    expect(counter.calls).toBe(7);
  });

  it('refuses at once what arrives while `limit` requests of the address wait, however slow the counter', async () => {
    const clock = new ManualClock('2026-11-24T03:00:00.000Z');
    const counter = new WatchedCounter(new InMemoryClientRequestCounter(clock));
    let release = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    const stalled: ClientRequestCounter = {
      count: async (address, windowMs) => (await slow, counter.count(address, windowMs)),
      purge: (windowMs) => counter.purge(windowMs),
    };
    const limit = new LimitClientRequests(stalled, 3, clock);

    const flood = Array.from({ length: 100 }, () => limit.execute({ clientAddress: '192.0.2.1' }));
    const overflow = await Promise.allSettled(flood.slice(3));
    release();

    expect(overflow.map(reasonOf)).toEqual(
      Array(97).fill(expect.objectContaining({ code: 'TOO_MANY_REQUESTS', retryAfterSeconds: 1 })),
    );
    await expect(Promise.all(flood.slice(0, 3))).resolves.toHaveLength(3);
    expect(counter.calls).toBe(3);
    // Once they are answered, the address queues again.
    await expect(limit.execute({ clientAddress: '192.0.2.1' })).rejects.toMatchObject({ retryAfterSeconds: 60 });
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
