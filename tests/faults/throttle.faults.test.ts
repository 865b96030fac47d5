import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  FAST_DELIVERY_ENV,
  crashLine,
  percentile,
  printSummary,
  retryAfterCheck,
  statusLine,
  unexpected5xx,
} from './support/harness.js';
import { expectPromisesKept, settle, settledLines, startLoadedService } from './support/run.js';
import { runSeed } from './support/random.js';

/**
 * The data platform throttles under load: it answers every request 429 with `Retry-After: 3`, then half of
 * them, then none. Each throttled event comes back no sooner than 3 s after its 429, nothing is lost once the
 * platform takes requests again, and each order's events still arrive in the order they happened.
 */
const RETRY_AFTER_S = 3;
/**
 * The cap is above the Retry-After so that it is honoured in full (FAST_DELIVERY_ENV's 1 s cap would cut it
 * to 1 s), and the base stays at 100 ms: a service that ignored Retry-After would come back within a second.
 */
const CAP_MS = 10_000;
const THROTTLE_ENV = { ...FAST_DELIVERY_ENV, DATA_PLATFORM_BACKOFF_CAP_MS: String(CAP_MS) } as const;
/** Above the Retry-After: the relay's poll (200 ms) and a loaded machine's delays, never a whole second backoff. */
const MEDIAN_SLACK_MS = 1_000;

describe('the data platform throttling with 429 and Retry-After, under load', () => {
  it(`retries each throttled event no sooner than ${RETRY_AFTER_S} s, loses nothing, and keeps each order's order`, async () => {
    const seed = runSeed();
    const began = performance.now();
    const run = await startLoadedService(inject('databaseUrl'), 'faults_throttle', { seed, env: THROTTLE_ENV });
    const { schema, receiver, service, load } = run;
    try {
      const mark = () => performance.now();
      await sleep(1_500);
      const throttledAt = mark();
      receiver.mode = { kind: 'throttle', retryAfterS: RETRY_AFTER_S };
      await sleep(6_500);
      const halfAt = mark();
      receiver.mode = { kind: 'throttle', retryAfterS: RETRY_AFTER_S, share: 0.5 };
      await sleep(4_000);
      const backAt = mark();
      receiver.mode = { kind: 'ok', minMs: 0, maxMs: 20 };
      await sleep(1_500);
      await load.stop();

      const settled = await settle(schema.db, receiver, load, 20_000);
      const { deliveries } = settled;
      const retry = retryAfterCheck(receiver.attempts, CAP_MS);
      const records = load.records;
      // What the throttling held back: cancellations throttled themselves, and those whose order was.
      const outbox = await schema.db
        .selectFrom('data_platform_outbox')
        .select(['event_id', 'type', 'order_id'])
        .execute();
      const throttledIds = new Set(
        receiver.attempts.filter((a) => a.retryAfter !== undefined).map((attempt) => attempt.eventId),
      );
      const throttledOrders = new Set(
        outbox.filter((row) => row.type === 'ORDER_PAID' && throttledIds.has(row.event_id)).map((row) => row.order_id),
      );
      const cancellations = outbox.filter((row) => row.type === 'ORDER_CANCELLED');
      const cancellationsThrottled = cancellations.filter((row) => throttledIds.has(row.event_id)).length;
      const behindThrottledOrder = cancellations.filter((row) => throttledOrders.has(row.order_id)).length;
      const secondsIn = (time: number) => ((time - began) / 1000).toFixed(1);
      printSummary(`faults: throttle (seed ${seed})`, {
        injected:
          `429 with Retry-After: ${RETRY_AFTER_S} to every request from ${secondsIn(throttledAt)} s, to half from ${secondsIn(halfAt)} s, ` +
          `to none from ${secondsIn(backAt)} s; backoff base ${THROTTLE_ENV.DATA_PLATFORM_BACKOFF_BASE_MS} ms, cap ${CAP_MS} ms`,
        load: `8 clients, ${load.operations} operations, ${records.length} requests (${statusLine(records)})`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        throttled:
          `${retry.throttled} answers 429 for ${retry.throttledEvents} events (${cancellationsThrottled} cancellations); ` +
          `${behindThrottledOrder} cancellations of ${throttledOrders.size} orders whose ORDER_PAID was throttled`,
        'next attempt after a 429':
          retry.gapsMs.length === 0
            ? 'none'
            : `${retry.gapsMs.length} measured: min ${Math.min(...retry.gapsMs).toFixed(0)} ms, p50 ${percentile(retry.gapsMs, 50).toFixed(0)} ms, ` +
              `p99 ${percentile(retry.gapsMs, 99).toFixed(0)} ms, max ${Math.max(...retry.gapsMs).toFixed(0)} ms; ${retry.problems.length === 0 ? 'none sooner than asked' : retry.problems.join('; ')}`,
        ...settledLines(settled),
        'service crashes': crashLine([service]),
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });

      expect(service.crashes).toEqual([]);
      expect(unexpected5xx(records)).toEqual([]);
      // The throttling took effect, on paid orders and cancellations alike, and held cancellations back.
      expect(retry.throttledEvents).toBeGreaterThan(20);
      expect(cancellationsThrottled).toBeGreaterThan(0);
      expect(behindThrottledOrder).toBeGreaterThan(0);
      // Each throttled event waited at least what it was asked, and not much more.
      expect(retry.problems).toEqual([]);
      expect(Math.min(...retry.gapsMs)).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
      expect(percentile(retry.gapsMs, 50)).toBeLessThan(RETRY_AFTER_S * 1000 + MEDIAN_SLACK_MS);
      // Nothing lost or parked, every signature verified, every order's events in order.
      expectPromisesKept(settled, load);
      expect(deliveries.failed).toBe(0);
    } finally {
      await run.stop();
    }
  });
});
