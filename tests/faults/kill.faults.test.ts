import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  FAST_DELIVERY_ENV,
  cleanUp,
  crashLine,
  deliveryLine,
  invariants,
  percentile,
  printSummary,
  statusLine,
  toldVersusStored,
  unexpected5xx,
  waitForDeliveries,
} from './support/harness.js';
import { createServiceSchema } from '../support/service-schema.js';
import { LoadDriver, setupShop } from './support/load.js';
import { between, runSeed, seededRandom } from './support/random.js';
import { FaultReceiver } from './support/receiver.js';
import { ServiceInstance } from './support/service.js';

/**
 * The service SIGKILLed at random moments under a mixed load, and started again each time: nothing it
 * confirmed is lost, nothing half-done is left, and every paid order still reaches the data platform.
 */
const KILLS = 4;

describe('SIGKILL of the service under load', () => {
  it(`keeps every promise through ${KILLS} SIGKILLs and restarts`, async () => {
    const seed = runSeed();
    const random = seededRandom(seed ^ 0x6b696c6c);
    const began = performance.now();
    const schema = await createServiceSchema(inject('databaseUrl'), 'faults_kill');
    const receiver = await new FaultReceiver(random).start();
    receiver.mode = { kind: 'ok', minMs: 0, maxMs: 20 };
    const service = new ServiceInstance('service', {
      DATABASE_URL: schema.serviceUrl,
      DATA_PLATFORM_URL: receiver.url,
      ...FAST_DELIVERY_ENV,
    });
    let load: LoadDriver | undefined;
    try {
      await service.start();
      const shop = await setupShop(service.origin);
      load = new LoadDriver(shop, [service], { seed, clients: 8 }).start();

      const kills: { atMs: number; pid: number | undefined; restartMs: number }[] = [];
      for (let i = 0; i < KILLS; i++) {
        await sleep(between(random, 1_000, 4_000));
        const pid = service.pid;
        const atMs = performance.now() - began;
        await service.kill('SIGKILL');
        const restartMs = await service.start();
        kills.push({ atMs: Math.round(atMs), pid, restartMs: Math.round(restartMs) });
      }
      await sleep(2_000);
      await load.stop();

      const deliveries = await waitForDeliveries(schema.db, receiver, 30_000);
      const told = await toldVersusStored(schema.db, load);
      const checked = await invariants(schema.db);
      const records = load.records;
      const answered = records.filter((r) => typeof r.status === 'number').map((r) => r.endedAt - r.startedAt);
      printSummary(`faults: kill (seed ${seed})`, {
        injected: `${KILLS} × SIGKILL at ${kills.map((k) => `${(k.atMs / 1000).toFixed(1)} s`).join(', ')}; restarts took ${kills.map((k) => `${k.restartMs} ms`).join(', ')}`,
        load: `8 clients, ${load.operations} operations, ${records.length} requests (${statusLine(records)})`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        'orders paid (201)': `${load.paid.size} (${[...load.paid.values()].filter((o) => o.keyed).length} with a key, ${load.replays} answers replayed); unknown outcome ${load.unknownOrders}`,
        latency: `answered p50 ${percentile(answered, 50).toFixed(0)} ms, p99 ${percentile(answered, 99).toFixed(0)} ms`,
        delivered: deliveryLine(deliveries),
        'told vs stored': told.length === 0 ? 'agree' : told.join('; '),
        invariants: checked.line,
        'service crashes': crashLine([service]),
        'service errors logged': `${service.errorCount}${service.errors.length > 0 ? ` (first: ${service.errors[0]!.msg} ${service.errors[0]!.err ?? ''})` : ''}`,
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });

      expect(kills).toHaveLength(KILLS);
      expect(load.paid.size).toBeGreaterThan(50);
      expect(service.crashes).toEqual([]);
      expect(unexpected5xx(records)).toEqual([]);
      expect(told).toEqual([]);
      // Cancellations were made through the fault, and each reached the data platform (one event per stored one).
      expect(load.cancelled).toBeGreaterThan(5);
      expect(deliveries.cancellationEvents).toBeGreaterThanOrEqual(load.cancelled);
      expect(deliveries.missingExamples).toEqual([]);
      expect(deliveries.problems).toEqual([]);
      expect(checked.broken).toEqual([]);
    } finally {
      await cleanUp([async () => load?.stop(), () => service.stop(), () => receiver.stop(), () => schema.drop()]);
    }
  });
});
