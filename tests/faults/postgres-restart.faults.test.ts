import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/adapters/postgres/embedded.js';
import { MAX_POPULAR_STALENESS_MS } from '../../src/domain/statistics/popular-products.js';
import { freePort } from '../support/service-process.js';
import { clusterHome } from '../support/test-postgres.js';
import {
  FAST_DELIVERY_ENV,
  cleanUp,
  crashLine,
  percentile,
  printSummary,
  statusLine,
  unexpected5xx,
} from './support/harness.js';
import { type ServiceSchema, createServiceSchema } from '../support/service-schema.js';
import { LoadDriver, type RequestRecord, setupShop } from './support/load.js';
import { expectPromisesKept, settle, settledLines } from './support/run.js';
import { runSeed, seededRandom } from './support/random.js';
import { FaultReceiver } from './support/receiver.js';
import { ServiceInstance } from './support/service.js';

/**
 * PostgreSQL itself goes away under load, twice: a fast shutdown (SIGINT, sessions terminated) and an
 * immediate one (SIGQUIT, as a crash: recovery at the next start). While it is down every request is
 * answered 503 with Retry-After, quickly; once it is back the same service process serves 2xx again
 * by itself. This file runs its own PostgreSQL, in a temporary directory, so it can stop it.
 */
const POOL_TIMEOUT_MS = 1_000;
/** No request may take longer than this while the database is down. */
const FAIL_FAST_MS = POOL_TIMEOUT_MS + 1_000;
const DOWN_MS = 4_000;

interface Outage {
  readonly how: 'fast shutdown (SIGINT)' | 'immediate shutdown (SIGQUIT)';
  /** performance.now() marks: stop asked, server gone, start asked, server accepting again. */
  readonly stopAt: number;
  readonly downAt: number;
  readonly restartAt: number;
  readonly upAt: number;
  /** The first 2xx write and the first /ready 200 after `upAt`, in ms after it. */
  recoveredAfterMs: number | undefined;
  readyAfterMs: number | undefined;
}

interface Probe {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly status: number | 'error';
  readonly retryAfter: string | null;
}

/** Polls GET /ready every 100 ms: the service's own view of the database, and a timed request of its own. */
function monitorReady(service: ServiceInstance): { probes: Probe[]; stop(): Promise<void> } {
  const probes: Probe[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const startedAt = performance.now();
      try {
        const response = await fetch(`${service.origin}/ready`, { signal: AbortSignal.timeout(10_000) });
        await response.arrayBuffer();
        probes.push({
          startedAt,
          endedAt: performance.now(),
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
        });
      } catch {
        probes.push({ startedAt, endedAt: performance.now(), status: 'error', retryAfter: null });
      }
      await sleep(100);
    }
  })();
  return {
    probes,
    async stop() {
      running = false;
      await loop;
    },
  };
}

function postmasterPid(dataDir: string): number {
  const pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}`);
  return pid;
}

async function waitForExit(pid: number, withinMs: number): Promise<void> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (performance.now() > deadline) throw new Error(`postmaster ${pid} still running after ${withinMs} ms`);
    await sleep(20);
  }
}

const isWrite = (record: RequestRecord) => record.op !== 'read';
/**
 * The answers the service may give without its database, from what it keeps in-process: a campaign it
 * knows is sold out, and the popular ranking (it may lag by up to 5 s, so only that long after the stop).
 */
const fromCache = (record: RequestRecord, outage: Outage) =>
  (record.op === 'issue' && record.status === 409 && record.code === 'COUPON_SOLD_OUT') ||
  (record.path.endsWith('/products/popular') &&
    record.status === 200 &&
    record.endedAt - outage.stopAt < MAX_POPULAR_STALENESS_MS);
const ms = (value: number) => `${Math.round(value)} ms`;

describe('PostgreSQL stopped and started again under load', () => {
  it('answers 503 with Retry-After fast while it is down, and recovers by itself once it is back', async () => {
    const seed = runSeed();
    const began = performance.now();
    const home = await clusterHome('shop-faults-pg-');
    const { dataDir } = home;
    const pgPort = await freePort();
    const startPostgres = () =>
      startEmbeddedPostgres({
        dataDir,
        port: pgPort,
        database: 'shop_faults',
        persistent: true,
        // Throwaway, but commits must be durable against a crash of the server process (the SIGQUIT below):
        // synchronous_commit stays on. fsync and full-page writes guard against an OS crash only.
        serverFlags: ['-c', 'fsync=off', '-c', 'full_page_writes=off'],
      });
    let postgres: EmbeddedDatabase | undefined;
    let schema: ServiceSchema | undefined;
    const receiver = await new FaultReceiver(seededRandom(seed)).start();
    receiver.mode = { kind: 'ok', minMs: 0, maxMs: 20 };
    let service: ServiceInstance | undefined;
    let load: LoadDriver | undefined;
    let ready: ReturnType<typeof monitorReady> | undefined;
    try {
      postgres = await startPostgres();
      schema = await createServiceSchema(postgres.url, 'faults_pg');
      service = new ServiceInstance('service', {
        DATABASE_URL: schema.serviceUrl,
        DATABASE_POOL_TIMEOUT_MS: String(POOL_TIMEOUT_MS),
        DATA_PLATFORM_URL: receiver.url,
        ...FAST_DELIVERY_ENV,
      });
      await service.start();
      const servicePid = service.pid;
      const shop = await setupShop(service.origin);
      load = new LoadDriver(shop, [service], { seed, clients: 8 }).start();
      ready = monitorReady(service);

      const outages: Outage[] = [];
      for (const how of ['fast shutdown (SIGINT)', 'immediate shutdown (SIGQUIT)'] as const) {
        await sleep(3_000);
        const stopAt = performance.now();
        if (how === 'fast shutdown (SIGINT)') {
          // An outage: stopped although the service is connected.
          await postgres.stop({ force: true });
        } else {
          // As a crash: the postmaster quits at once, no checkpoint; the library's handle is dropped, not stopped.
          const pid = postmasterPid(dataDir);
          process.kill(pid, 'SIGQUIT');
          await waitForExit(pid, 10_000);
        }
        postgres = undefined;
        const downAt = performance.now();
        await sleep(DOWN_MS);
        const restartAt = performance.now();
        postgres = await startPostgres();
        const upAt = performance.now();
        outages.push({ how, stopAt, downAt, restartAt, upAt, recoveredAfterMs: undefined, readyAfterMs: undefined });
        await sleep(3_000);
      }
      await sleep(1_000);
      await load.stop();
      await ready.stop();

      // Recovery: the first write answered 2xx, and the first /ready 200, after each restart.
      const records = load.records;
      for (const outage of outages) {
        const firstWrite = records
          .filter((r) => isWrite(r) && r.startedAt >= outage.upAt && typeof r.status === 'number' && r.status < 300)
          .sort((a, b) => a.endedAt - b.endedAt)[0];
        outage.recoveredAfterMs = firstWrite && firstWrite.endedAt - outage.upAt;
        const firstReady = ready.probes.find((p) => p.startedAt >= outage.upAt && p.status === 200);
        outage.readyAfterMs = firstReady && firstReady.endedAt - outage.upAt;
      }
      // While the server was down (from its exit to the start of the next one): every request, every /ready.
      const whileDown = (o: Outage) => records.filter((r) => r.startedAt >= o.downAt && r.endedAt <= o.restartAt);
      const probesDown = (o: Outage) =>
        ready!.probes.filter((p) => p.startedAt >= o.downAt && p.endedAt <= o.restartAt);
      // Around each outage (from the stop until 3 s after the server is back): nothing hangs.
      const around = (o: Outage) => records.filter((r) => r.endedAt >= o.stopAt && r.startedAt <= o.upAt + 3_000);

      // A crashed service delivers nothing more: no use waiting then.
      const settled = await settle(schema.db, receiver, load, service.crashes.length > 0 ? 0 : 30_000);
      const bad5xx = unexpected5xx(records);
      const facts: Record<string, string | number> = {
        injected: outages
          .map(
            (o) =>
              `${o.how} at ${((o.stopAt - began) / 1000).toFixed(1)} s, down ${ms(o.restartAt - o.downAt)}, restart took ${ms(o.upAt - o.restartAt)}`,
          )
          .join('; '),
        load: `8 clients, ${load.operations} operations, ${records.length} requests (${statusLine(records)}); /ready polled ${ready.probes.length} times`,
        outcomes: load.describe(),
        cancellations: load.describeCancellations(),
        'orders paid (201)': `${load.paid.size} (${load.replays} answers replayed); unknown outcome ${load.unknownOrders}`,
      };
      outages.forEach((o, i) => {
        const down = whileDown(o);
        const latencies = around(o).map((r) => r.endedAt - r.startedAt);
        facts[`outage ${i + 1} while down`] =
          `${down.length} requests: ${statusLine(down)}; 503 with Retry-After ${down.filter((r) => r.status === 503 && r.retryAfter).length}, answered from in-process caches ${down.filter((r) => fromCache(r, o)).length}; ` +
          `slowest ${ms(Math.max(0, ...down.map((r) => r.endedAt - r.startedAt)))}; /ready ${
            probesDown(o)
              .map((p) => p.status)
              .filter((s) => s === 503).length
          }×503 of ${probesDown(o).length}`;
        facts[`outage ${i + 1} around`] =
          `${latencies.length} requests from the stop to 3 s after the restart: ${statusLine(around(o))}; p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(0, ...latencies))}`;
        facts[`outage ${i + 1} recovery`] =
          `first 2xx write ${o.recoveredAfterMs === undefined ? 'NEVER' : `${ms(o.recoveredAfterMs)}`} after PostgreSQL accepted again, /ready 200 after ${o.readyAfterMs === undefined ? 'NEVER' : ms(o.readyAfterMs)}`;
      });
      Object.assign(facts, {
        'unexpected 5xx':
          bad5xx.length === 0
            ? 'none'
            : `${bad5xx.length}: ${bad5xx
                .slice(0, 5)
                .map(
                  (r) =>
                    `${r.op} ${r.path} ${r.status} ${r.code ?? ''} at ${((r.startedAt - began) / 1000).toFixed(2)} s`,
                )
                .join('; ')}`,
        'service process': `pid ${servicePid} throughout: ${service.pid === servicePid && service.running && service.starts === 1 ? 'yes' : 'NO'}`,
        ...settledLines(settled),
        'service crashes': crashLine([service]),
        'service errors logged': `${service.errorCount}${service.errors.length > 0 ? ` (e.g. ${[...new Set(service.errors.map((e) => `${e.msg}: ${e.err ?? ''}`))].slice(0, 3).join(' | ')})` : ''}`,
        'run time': `${((performance.now() - began) / 1000).toFixed(1)} s`,
      });
      printSummary(`faults: postgres-restart (seed ${seed})`, facts);

      // The same process all along, which recovered by itself.
      expect(service.crashes).toEqual([]);
      expect(service.starts).toBe(1);
      expect(service.running).toBe(true);
      expect(service.pid).toBe(servicePid);
      for (const outage of outages) {
        const down = whileDown(outage);
        expect(down.length, `requests while ${outage.how}`).toBeGreaterThan(5);
        // Down: every answer a 503 with Retry-After, and quick.
        expect(down.filter((r) => !(r.status === 503 && r.retryAfter) && !fromCache(r, outage))).toEqual([]);
        expect(down.filter((r) => r.endedAt - r.startedAt >= FAIL_FAST_MS)).toEqual([]);
        expect(probesDown(outage).filter((p) => p.status !== 503 || !p.retryAfter)).toEqual([]);
        // Around it: nothing hangs or times out, nothing but answers (the service itself never went away).
        expect(
          around(outage).filter((r) => typeof r.status !== 'number' || r.endedAt - r.startedAt >= FAIL_FAST_MS),
        ).toEqual([]);
        // Back: 2xx again, without a restart of the service.
        expect(outage.recoveredAfterMs).toBeDefined();
        expect(outage.recoveredAfterMs!).toBeLessThan(5_000);
        expect(outage.readyAfterMs).toBeDefined();
      }
      expect(bad5xx).toEqual([]);
      expectPromisesKept(settled, load);
    } finally {
      await cleanUp([
        async () => ready?.stop(),
        async () => load?.stop(),
        async () => service?.stop(),
        () => receiver.stop(),
        async () => schema?.drop(),
        async () => postgres?.stop({ force: true }),
        () => home.remove(),
      ]);
    }
  });
});
