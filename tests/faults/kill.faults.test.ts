import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { crashLine, percentile, printSummary, statusLine, unexpected5xx } from './support/harness.js';
import { expectPromisesKept, settle, settledLines, startLoadedService } from './support/run.js';
import { between, runSeed, seededRandom } from './support/random.js';

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
    const run = await startLoadedService(inject('databaseUrl'), 'faults_kill', { seed, random });
    const { schema, receiver, service, load } = run;
    try {
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

      const settled = await settle(schema.db, receiver, load, 30_000);
      const records = load.records;
      const answered = records.filter((r) => typeof r.status === 'number').map((r) => r.endedAt - r.startedAt);
      printSummary(`faults: kill (seed ${seed})`, {
        injected: `${KILLS} × SIGKILL at ${kills.map((k) => `${(k.atMs / 1000).toFixed(1)} s`).join(', ')}; restarts took ${kills.map((k) => `${k.restartMs} ms`).join(', ')}`,
        load: `8 clients, ${load.operations} operations, ${records.length} requests (${statusLine(records)})`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        'orders paid (201)': `${load.paid.size} (${[...load.paid.values()].filter((o) => o.keyed).length} with a key, ${load.replays} answers replayed); unknown outcome ${load.unknownOrders}`,
        latency: `answered p50 ${percentile(answered, 50).toFixed(0)} ms, p99 ${percentile(answered, 99).toFixed(0)} ms`,
        ...settledLines(settled),
        'service crashes': crashLine([service]),
        'service errors logged': `${service.errorCount}${service.errors.length > 0 ? ` (first: ${service.errors[0]!.msg} ${service.errors[0]!.err ?? ''})` : ''}`,
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });

      expect(kills).toHaveLength(KILLS);
      expect(load.paid.size).toBeGreaterThan(50);
      expect(service.crashes).toEqual([]);
      expect(unexpected5xx(records)).toEqual([]);
      expectPromisesKept(settled, load);
    } finally {
      await run.stop();
    }
  });
});
