import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { FAST_DELIVERY_ENV, crashLine, percentile, printSummary, statusLine } from './support/harness.js';
import { expectPromisesKept, settle, settledLines, startLoadedService } from './support/run.js';
import { runSeed } from './support/random.js';

/**
 * The data platform fails under load: first slow past the service's timeout (every attempt times out),
 * then down (connections refused), then back. Orders keep being paid and cancelled throughout without waiting
 * for it, and afterwards every paid order and every cancellation is delivered; none is parked, lost or changed.
 */
const TIMEOUT_MS = Number(FAST_DELIVERY_ENV.DATA_PLATFORM_TIMEOUT_MS);
const SLOW_ANSWER_MS = 3 * TIMEOUT_MS;

describe('the data platform slow, then down, then back, under load', () => {
  it('delivers every paid order and every cancellation afterwards, and keeps serving meanwhile', async () => {
    const seed = runSeed();
    const began = performance.now();
    const run = await startLoadedService(inject('databaseUrl'), 'faults_dp', { seed });
    const { schema, receiver, service, load } = run;
    try {
      const mark = () => performance.now();
      await sleep(3_000);
      const slowAt = mark();
      receiver.mode = { kind: 'slow', delayMs: SLOW_ANSWER_MS };
      await sleep(5_000);
      const downAt = mark();
      await receiver.stop();
      await sleep(5_000);
      const backAt = mark();
      receiver.mode = { kind: 'ok', minMs: 0, maxMs: 20 };
      await receiver.start();
      await sleep(2_000);
      await load.stop();
      const loadEndedAt = mark();

      const settled = await settle(schema.db, receiver, load, 30_000);
      const { deliveries } = settled;
      const records = load.records;
      const during = records.filter((r) => r.startedAt >= slowAt && r.endedAt <= backAt);
      const orderLatency = during
        .filter((r) => r.op === 'order' || r.op === 'order+coupon')
        .map((r) => r.endedAt - r.startedAt);
      const cancelLatency = during
        .filter((r) => r.op === 'cancel' || r.op === 'cancel-part')
        .map((r) => r.endedAt - r.startedAt);
      const slowAttempts = receiver.attempts.filter((a) => a.startedAt >= slowAt && a.startedAt < downAt);
      const orders = await schema.db.selectFrom('orders').select(['id', 'created_at']).execute();
      const secondsIn = (at: number) => ((at - began) / 1000).toFixed(1);
      printSummary(`faults: data-platform (seed ${seed})`, {
        injected:
          `receiver slow (answers after ${SLOW_ANSWER_MS} ms, timeout ${TIMEOUT_MS} ms) from ${secondsIn(slowAt)} s, down from ${secondsIn(downAt)} s, ` +
          `back at ${secondsIn(backAt)} s; load ended ${secondsIn(loadEndedAt)} s`,
        load: `8 clients, ${load.operations} operations, ${records.length} requests (${statusLine(records)})`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        'orders paid (201)': `${load.paid.size} in all; ${orders.length} stored; unknown outcome ${load.unknownOrders}`,
        'while it failed': `${during.length} requests (${statusLine(during)}); orders p50 ${percentile(orderLatency, 50).toFixed(0)} ms, p99 ${percentile(orderLatency, 99).toFixed(0)} ms, max ${Math.max(0, ...orderLatency).toFixed(0)} ms; ${cancelLatency.length} cancellations p99 ${percentile(cancelLatency, 99).toFixed(0)} ms, max ${Math.max(0, ...cancelLatency).toFixed(0)} ms`,
        'slow phase': `${slowAttempts.length} attempts reached the receiver, ${slowAttempts.filter((a) => a.outcome === 'aborted').length} abandoned by the service at its timeout`,
        ...settledLines(settled),
        'service crashes': crashLine([service]),
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });

      expect(service.crashes).toEqual([]);
      // The shop kept selling while the platform failed, without waiting for it.
      expect(during.filter((r) => typeof r.status !== 'number' || r.status >= 500)).toEqual([]);
      expect(orderLatency.length).toBeGreaterThan(50);
      expect(percentile(orderLatency, 99)).toBeLessThan(1_000);
      expect(cancelLatency.length).toBeGreaterThan(5);
      expect(percentile(cancelLatency, 99)).toBeLessThan(1_000);
      // The faults took effect: slow attempts were abandoned, events were retried.
      expect(slowAttempts.filter((a) => a.outcome === 'aborted').length).toBeGreaterThan(0);
      expect(deliveries.retried).toBeGreaterThan(0);
      // Every paid order and every cancellation delivered, as stored, none parked.
      expectPromisesKept(settled, load);
      expect(deliveries.failed).toBe(0);
    } finally {
      await run.stop();
    }
  });
});
