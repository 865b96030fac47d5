import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  FAST_DELIVERY_ENV,
  cleanUp,
  crashLine,
  percentile,
  printSummary,
  statusLine,
  unexpected5xx,
} from './support/harness.js';
import { createServiceSchema } from '../support/service-schema.js';
import { LoadDriver, setupShop } from './support/load.js';
import { expectPromisesKept, settle, settledLines } from './support/run.js';
import { runSeed, seededRandom } from './support/random.js';
import { FaultReceiver } from './support/receiver.js';
import { ServiceInstance } from './support/service.js';

/**
 * Two service processes on one database under one load, each running its outbox relay against a data
 * platform that fails now and then and sometimes answers too late (so events move between the two on retry). Each
 * instance sends to its own path on the receiver (/a/orders, /b/orders), so every attempt is known by
 * its sender. Nothing is sent twice at the same moment: no two requests for one event id overlap in time.
 */
const LOAD_MS = 20_000;
/** Past the service's timeout: such an attempt is abandoned by its sender, and the event claimed again later. */
const SLOW_ANSWER_MS = 2 * Number(FAST_DELIVERY_ENV.DATA_PLATFORM_TIMEOUT_MS);

describe('two service instances on one database', () => {
  it('share the load and the outbox without breaking an invariant or sending one event twice at once', async () => {
    const seed = runSeed();
    const began = performance.now();
    const schema = await createServiceSchema(inject('databaseUrl'), 'faults_two');
    const receiver = await new FaultReceiver(seededRandom(seed)).start();
    receiver.mode = { kind: 'ok', minMs: 10, maxMs: 150, failRate: 0.15, slowRate: 0.01, slowMs: SLOW_ANSWER_MS };
    const env = { DATABASE_URL: schema.serviceUrl, ...FAST_DELIVERY_ENV };
    const a = new ServiceInstance('instance A', { ...env, DATA_PLATFORM_URL: `${receiver.url}/a` });
    const b = new ServiceInstance('instance B', { ...env, DATA_PLATFORM_URL: `${receiver.url}/b` });
    let load: LoadDriver | undefined;
    try {
      // One after the other: both would migrate the new schema at once otherwise.
      await a.start();
      await b.start();
      const shop = await setupShop(a.origin);
      load = new LoadDriver(shop, [a, b], { seed, clients: 8 }).start();
      await sleep(LOAD_MS);
      await load.stop();

      const settled = await settle(schema.db, receiver, load, 30_000);

      const overlaps = receiver.overlaps();
      const records = load.records;
      const sentBy = (prefix: string) => receiver.attempts.filter((attempt) => attempt.path.startsWith(prefix));
      const eventsBy = (prefix: string) => new Set(sentBy(prefix).map((attempt) => attempt.eventId));
      const byA = eventsBy('/a/');
      const byB = eventsBy('/b/');
      const both = [...byA].filter((eventId) => byB.has(eventId)).length;
      const gaps: number[] = [];
      const perEvent = new Map<string, typeof receiver.attempts>();
      for (const attempt of receiver.attempts)
        perEvent.set(attempt.eventId ?? '', [...(perEvent.get(attempt.eventId ?? '') ?? []), attempt]);
      for (const list of perEvent.values()) {
        for (let i = 1; i < list.length; i++)
          gaps.push(list[i]!.startedAt - (list[i - 1]!.endedAt ?? list[i - 1]!.startedAt));
      }
      const answered = (name: string) =>
        records.filter((r) => r.target === name && typeof r.status === 'number').length;
      printSummary(`faults: two-instances (seed ${seed})`, {
        injected: `a second instance on the same database; the receiver answers in 10-150 ms, but 15 % of requests with 500 and 1 % after ${SLOW_ANSWER_MS} ms (past the timeout)`,
        load: `8 clients over both, ${(LOAD_MS / 1000).toFixed(0)} s, ${load.operations} operations, ${records.length} requests (${statusLine(records)}); answered by A ${answered(a.name)}, by B ${answered(b.name)}`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        'orders paid (201)': `${load.paid.size} (${load.replays} answers replayed); unknown outcome ${load.unknownOrders}`,
        'deliveries by instance': `A sent ${sentBy('/a/').length} requests for ${byA.size} events, B sent ${sentBy('/b/').length} for ${byB.size}; ${both} events were tried by both`,
        'same event at once': `${overlaps.length} overlapping pairs${overlaps.length > 0 ? `, e.g. ${JSON.stringify(overlaps.slice(0, 3).map((o) => ({ eventId: o.eventId, first: [o.first.path, o.first.startedAt, o.first.endedAt], second: [o.second.path, o.second.startedAt, o.second.endedAt] })))}` : ''}; smallest gap between two requests for one event ${gaps.length > 0 ? `${Math.min(...gaps).toFixed(0)} ms` : '-'}, p50 ${percentile(gaps, 50).toFixed(0)} ms`,
        ...settledLines(settled),
        'service crashes': crashLine([a, b]),
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });

      expect([...a.crashes, ...b.crashes]).toEqual([]);
      expect(answered(a.name)).toBeGreaterThan(100);
      expect(answered(b.name)).toBeGreaterThan(100);
      // Both relays took part, and retries did move events between them.
      expect(byA.size).toBeGreaterThan(0);
      expect(byB.size).toBeGreaterThan(0);
      expect(overlaps).toEqual([]);
      expect(unexpected5xx(records)).toEqual([]);
      expectPromisesKept(settled, load);
    } finally {
      await cleanUp([
        async () => load?.stop(),
        () => a.stop(),
        () => b.stop(),
        () => receiver.stop(),
        () => schema.drop(),
      ]);
    }
  });
});
