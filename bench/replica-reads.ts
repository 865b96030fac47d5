/**
 * `npm run bench:replicas`: a catalog-heavy read load (product pages, product lists, the popular ranking,
 * with some orders written meanwhile) against the service on a primary alone, then against the service
 * with a streaming replica of it for its catalog reads, on one cluster the scale tier's harness starts
 * (it needs `pgbouncer`, as that tier does, though this load connects directly). Prints each run's rate,
 * latency and the primary's share of the catalog reads, and the replica's lag as /metrics read it during
 * the load. On one machine the two servers share its cores: the point is where the reads go, not speed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { aChargedUser, aProduct } from '../tests/support/builders.js';
import { startServiceProcess } from '../tests/support/service-process.js';
import { query, startCluster } from '../tests/scale/support/cluster.js';
import { scaled, statsOf, runLoad } from './harness.js';
import { httpClient } from './service.js';

const REQUESTS = scaled(20_000, 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PRODUCTS = 200;
/** One request in this many is an order, so the primary keeps writing while the catalog is read. */
const WRITE_EVERY = 20;

async function metricValues(origin: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, value] = line.split(' ');
    values.set(series!.slice(name.length), Number(value));
  }
  return values;
}

/** Transactions committed on a server's `shop` database so far, as its statistics count them. */
async function commits(url: string): Promise<number> {
  const [row] = await query<{ value: number }>(
    url,
    `SELECT xact_commit::float8 AS value FROM pg_stat_database WHERE datname = current_database()`,
  );
  return row!.value;
}

async function main(): Promise<void> {
  const cluster = await startCluster();
  try {
    const results: string[] = [];
    for (const withReplica of [false, true]) {
      const service = await startServiceProcess({
        DATABASE_URL: cluster.primaryUrl,
        DATABASE_REPLICA_URLS: withReplica ? cluster.replicaUrl : undefined,
        EMBEDDED_PG_DATA_DIR: undefined,
        LOG_LEVEL: 'warn',
      });
      try {
        const api = { origin: service.origin, token: service.adminToken };
        const products = await Promise.all(
          Array.from({ length: PRODUCTS }, (_, i) => aProduct(api, { name: `bench ${i}`, stock: 1_000_000 })),
        );
        const buyers = await Promise.all(Array.from({ length: 20 }, () => aChargedUser(api, 10_000_000)));
        await cluster.caughtUp();
        await sleep(500);
        const http = httpClient(service.origin, CONCURRENCY);
        const lags: number[] = [];
        const sampling = setInterval(() => {
          void metricValues(service.origin, 'shop_db_replica_lag_seconds').then((values) => {
            for (const value of values.values()) lags.push(value);
          });
        }, 200);
        const primaryBefore = await commits(cluster.primaryUrl);
        const replicaBefore = await commits(cluster.replicaUrl);
        const run = await runLoad(
          withReplica ? 'with a replica' : 'primary alone',
          REQUESTS,
          CONCURRENCY,
          async (i) => {
            const product = products[i % PRODUCTS]!;
            if (i % WRITE_EVERY === 0) {
              const buyer = buyers[i % buyers.length]!;
              const order = { userId: buyer.id, items: [{ productId: product.id, quantity: 1 }] };
              return (await http.request('POST', '/api/v1/orders', order, service.adminToken)).status;
            }
            if (i % 10 === 1) return (await http.request('GET', '/api/v1/products/popular')).status;
            if (i % 10 === 2) return (await http.request('GET', '/api/v1/products?limit=20')).status;
            return (await http.request('GET', `/api/v1/products/${product.id}`)).status;
          },
        );
        clearInterval(sampling);
        await http.close();
        const stats = statsOf(run.samples, run.elapsedMs);
        const failed = run.samples.filter((sample) => sample.value >= 300).length;
        const reads = await metricValues(service.origin, 'shop_db_catalog_reads_total');
        const fromPrimary = reads.get('{source="primary"}') ?? 0;
        const total = [...reads.values()].reduce((sum, n) => sum + n, 0);
        const primaryCommits = (await commits(cluster.primaryUrl)) - primaryBefore;
        const replicaCommits = (await commits(cluster.replicaUrl)) - replicaBefore;
        const lagNote =
          lags.length === 0
            ? ''
            : `; replica lag during the load: max ${Math.max(...lags).toFixed(3)} s, mean ${(lags.reduce((a, b) => a + b, 0) / lags.length).toFixed(3)} s`;
        results.push(
          `${withReplica ? 'with a replica' : 'primary alone '}  ${stats.requests} requests  ${stats.rps.toFixed(0)} req/s` +
            `  p50 ${stats.p50.toFixed(1)} ms  p99 ${stats.p99.toFixed(1)} ms  errors ${failed}` +
            `  catalog reads from the primary: ${withReplica ? `${fromPrimary} of ${total}` : 'all'}` +
            `  transactions: primary ${primaryCommits}, replica ${replicaCommits}${lagNote}`,
        );
      } finally {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
    console.log(`\n${CONCURRENCY} clients, ${PRODUCTS} products, one request in ${WRITE_EVERY} an order`);
    for (const line of results) console.log(line);
  } finally {
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
