import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  Delivery,
  MAX_ERROR_LENGTH,
  afterFailure,
  backoffMs,
  describeFailure,
} from '../../../src/domain/data-platform/delivery.js';

const policy = DEFAULT_RETRY_POLICY;
const at = new Date('2026-11-24T03:00:00.000Z');
const later = (ms: number) => new Date(at.getTime() + ms);

const pending = new Delivery({
  id: 1,
  eventId: '7d1f3c1e-1b9a-4b55-9d7e-0a8f2b6c4d11',
  type: 'ORDER_PAID',
  orderId: 10,
  status: 'PENDING',
  attempts: 0,
  lastError: null,
  nextAttemptAt: at,
  deliveredAt: null,
  createdAt: at,
});

describe('backoff', () => {
  it('doubles from 1 s and is capped at 60 s (no jitter at random 0.5)', () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffMs(i + 1, policy, 0.5));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    expect(backoffMs(1_000, policy, 0.5)).toBe(60_000);
  });

  it('spreads each delay by ±20 %', () => {
    expect(backoffMs(1, policy, 0)).toBe(800);
    expect(backoffMs(3, policy, 0.25)).toBe(3_600);
    expect(backoffMs(3, policy, 0.75)).toBe(4_400);
    expect(backoffMs(7, policy, 0)).toBe(48_000);
    expect(backoffMs(7, policy, 0.999_999)).toBe(72_000);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const plain = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
      for (const random of [0, 0.1, 0.5, 0.9, 0.999]) {
        const delay = backoffMs(attempt, policy, random);
        expect(delay).toBeGreaterThanOrEqual(plain * 0.8);
        expect(delay).toBeLessThanOrEqual(plain * 1.2);
      }
    }
  });

  it('follows a configured base and cap', () => {
    const fast = { baseMs: 10, capMs: 50, maxAttempts: 3 };
    expect([1, 2, 3, 4].map((attempt) => backoffMs(attempt, fast, 0.5))).toEqual([10, 20, 40, 50]);
  });
});

describe('after a failed attempt', () => {
  it('is due again after the backoff while attempts remain', () => {
    expect(afterFailure(1, policy, 0.5)).toEqual({ status: 'PENDING', retryInMs: 1_000 });
    expect(afterFailure(9, policy, 0)).toEqual({ status: 'PENDING', retryInMs: 48_000 });
  });

  it('is parked FAILED once maxAttempts attempts have failed', () => {
    expect(afterFailure(10, policy, 0.5)).toEqual({ status: 'FAILED' });
    expect(afterFailure(11, policy, 0.5)).toEqual({ status: 'FAILED' });
    expect(afterFailure(2, { ...policy, maxAttempts: 2 }, 0.5)).toEqual({ status: 'FAILED' });
  });

  it('keeps a bounded description of the error', () => {
    expect(describeFailure(new Error('POST /orders answered 500'))).toBe('POST /orders answered 500');
    expect(describeFailure('plain')).toBe('plain');
    expect(describeFailure(new Error('x'.repeat(5_000)))).toHaveLength(MAX_ERROR_LENGTH);
  });
});

describe('after a failed attempt the platform asked to be left alone for a while (Retry-After)', () => {
  it('waits what the platform asked when that is longer than the backoff', () => {
    expect(afterFailure(1, policy, 0.5, 3_000)).toEqual({ status: 'PENDING', retryInMs: 3_000 });
    expect(afterFailure(2, policy, 0, 1_601)).toEqual({ status: 'PENDING', retryInMs: 1_601 });
  });

  it('keeps the backoff when that is the longer', () => {
    expect(afterFailure(3, policy, 0.5, 3_000)).toEqual({ status: 'PENDING', retryInMs: 4_000 });
    expect(afterFailure(2, policy, 0, 1_599)).toEqual({ status: 'PENDING', retryInMs: 1_600 });
    expect(afterFailure(1, policy, 0.5, 0)).toEqual(afterFailure(1, policy, 0.5));
    expect(afterFailure(1, policy, 0.5, undefined)).toEqual({ status: 'PENDING', retryInMs: 1_000 });
  });

  it('holds what the platform asks for to the cap, and leaves the jittered backoff as it is', () => {
    expect(afterFailure(1, policy, 0.5, 3_600_000)).toEqual({ status: 'PENDING', retryInMs: 60_000 });
    // Past the cap by its jitter, as every backoff may be, so that events failed together spread out.
    expect(afterFailure(7, policy, 0.999_999, 65_000)).toEqual({
      status: 'PENDING',
      retryInMs: backoffMs(7, policy, 0.999_999),
    });
    expect(backoffMs(7, policy, 0.999_999)).toBeGreaterThan(60_000);
    const fast = { baseMs: 10, capMs: 50, maxAttempts: 5 };
    expect(afterFailure(1, fast, 0.5, 1_000)).toEqual({ status: 'PENDING', retryInMs: 50 });
  });

  it('parks FAILED once maxAttempts attempts have failed, whatever was asked', () => {
    expect(afterFailure(10, policy, 0.5, 3_000)).toEqual({ status: 'FAILED' });
    expect(afterFailure(10, policy, 0.5, 3_600_000)).toEqual({ status: 'FAILED' });
    expect(afterFailure(2, { ...policy, maxAttempts: 2 }, 0.5, 1)).toEqual({ status: 'FAILED' });
  });
});

describe('describeFailure', () => {
  it('keeps no control character, a NUL above all, which PostgreSQL refuses in text', () => {
    expect(describeFailure(new Error('answered 500: bad\u0000body\u001b[31m\u007f'))).toBe(
      'answered 500: bad body [31m ',
    );
    expect(describeFailure('line one\nline two\ttabbed')).toBe('line one\nline two\ttabbed');
  });
});

describe('delivery state', () => {
  it('is enqueued due at once, with the type and order of its event, paid or cancelled alike', () => {
    const cancelled = Delivery.enqueue({
      id: 2,
      eventId: 'c5a0b7de-58c1-4f7e-8f0e-7a3b9d2e1f40',
      event: {
        type: 'ORDER_CANCELLED',
        body: { orderId: 10, userId: 7, items: [{ productId: 3, quantity: 1 }], refundAmount: 500, cancelledAt: '' },
      },
      at,
    });
    expect(cancelled).toEqual(
      new Delivery({ ...pending, id: 2, eventId: 'c5a0b7de-58c1-4f7e-8f0e-7a3b9d2e1f40', type: 'ORDER_CANCELLED' }),
    );
    const paid = Delivery.enqueue({
      id: 1,
      eventId: pending.eventId,
      event: {
        type: 'ORDER_PAID',
        body: {
          orderId: 10,
          userId: 7,
          items: [],
          totalAmount: 500,
          discountAmount: 0,
          paidAmount: 500,
          paidAt: at.toISOString(),
        },
      },
      at,
    });
    expect(paid).toEqual(pending);
  });

  it('is due when PENDING and its time has come', () => {
    expect(pending.isDue(at)).toBe(true);
    expect(pending.isDue(later(-1))).toBe(false);
    expect(new Delivery({ ...pending, status: 'FAILED', nextAttemptAt: null }).isDue(later(1))).toBe(false);
  });

  it('counts an attempt and leases the delivery when it is claimed', () => {
    const claimed = pending.claim(later(30_000));
    expect(claimed).toMatchObject({ attempts: 1, nextAttemptAt: later(30_000), status: 'PENDING' });
    expect(claimed.isDue(later(29_999))).toBe(false);
    expect(claimed.isDue(later(30_000))).toBe(true);
  });

  it('records a failure of the current attempt only, due again the pause after it was recorded', () => {
    const claimed = pending.claim(later(30_000));
    const rescheduled = claimed.failed(1, { status: 'PENDING', retryInMs: 1_000 }, 'answered 500', later(500));
    expect(rescheduled).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      lastError: 'answered 500',
      nextAttemptAt: later(1_500),
    });
    expect(claimed.failed(1, { status: 'FAILED' }, 'timed out', later(500))).toMatchObject({
      status: 'FAILED',
      lastError: 'timed out',
      nextAttemptAt: null,
    });

    const reclaimed = claimed.claim(later(60_000));
    expect(reclaimed.failed(1, { status: 'FAILED' }, 'stale', later(500))).toBe(reclaimed);
  });

  it('is delivered once, whatever it was', () => {
    const parked = new Delivery({ ...pending, status: 'FAILED', attempts: 10, nextAttemptAt: null, lastError: 'down' });
    const done = parked.delivered(later(5));
    expect(done).toMatchObject({ status: 'DELIVERED', deliveredAt: later(5), nextAttemptAt: null, lastError: 'down' });
    expect(done.delivered(later(10))).toBe(done);
  });

  it('is retried by an operator from zero attempts, unless delivered', () => {
    const parked = new Delivery({ ...pending, status: 'FAILED', attempts: 10, nextAttemptAt: null, lastError: 'down' });
    expect(parked.retried(later(7))).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: later(7),
      lastError: 'down',
    });
    const done = pending.delivered(later(1));
    expect(done.retried(later(7))).toBe(done);
  });

  it('is redelivered by an operator whatever its status, DELIVERED too: due at once from zero attempts', () => {
    const done = pending.claim(later(30_000)).delivered(later(1));
    const parked = new Delivery({ ...pending, status: 'FAILED', attempts: 10, nextAttemptAt: null, lastError: 'down' });
    for (const delivery of [done, parked, pending.claim(later(30_000))])
      expect(delivery.redelivered(later(7))).toEqual(
        new Delivery({
          ...delivery,
          status: 'PENDING',
          attempts: 0,
          lastError: null,
          nextAttemptAt: later(7),
          deliveredAt: null,
        }),
      );
  });

  it('waits on no earlier event unless its store says which', () => {
    expect(pending.waitingFor).toBeNull();
    const waiting = new Delivery({ ...pending, id: 2, waitingFor: pending.eventId });
    expect(waiting.waitingFor).toBe(pending.eventId);
  });
});
