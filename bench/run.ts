/**
 * `npm run bench [-- scenario ...]`: starts the service as its own process on a fresh database (on the
 * embedded server, or on the server of DATABASE_URL), runs each scenario against it over HTTP and, as the
 * ceiling, the same use cases and adapters in this process without HTTP, and prints one table. Results
 * also go to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { createDb } from '../src/adapters/postgres/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/adapters/postgres/embedded.js';
import { appDependencies, createContainer } from '../src/container.js';
import { type Row, formatTable } from './harness.js';
import { popular, scenarios } from './scenarios/index.js';
import { httpClient, startService } from './service.js';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const poolSize = Number(process.env.DATABASE_POOL_SIZE ?? 20);
const timeZone = process.env.SHOP_TIMEZONE ?? 'Asia/Seoul';

function pick(names: string[]) {
  if (names.length === 0) return scenarios;
  const unknown = names.filter((name) => !scenarios.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  return scenarios.filter((scenario) => names.includes(scenario.name));
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const chosen = pick(process.argv.slice(2));
  let embedded: EmbeddedDatabase | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    process.stderr.write('starting the embedded PostgreSQL for benchmarks (.data/bench-postgres)\n');
    embedded = await startEmbeddedPostgres({
      dataDir: '.data/bench-postgres',
      port: Number(process.env.BENCH_PG_PORT ?? 54_330),
      database: 'postgres',
    });
    serverUrl = embedded.url;
  }
  const database = `shop_bench_${Date.now()}`;
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE ${database}`));
  const benchUrl = withDatabase(serverUrl, database);

  const service = await startService(benchUrl, poolSize);
  const http = httpClient(service.origin, concurrency);
  // The ceiling: the service's composition root on a database of the same pool size, in this process.
  const ceilingDb = createDb({ url: benchUrl, poolSize });
  const ceiling = {
    useCases: appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: ceilingDb }, timeZone })),
    db: ceilingDb,
  };
  const pgPool = new pg.Pool({ connectionString: benchUrl, max: poolSize });
  const rows: Row[] = [];
  try {
    for (const scenario of chosen) {
      process.stderr.write(`\n${scenario.name}: ${scenario.description}\n`);
      rows.push(...(await scenario.run({ http, ceiling, pg: pgPool, databaseUrl: benchUrl, concurrency })));
    }
  } finally {
    const peakMemoryMiB = service.peakMemoryMiB();
    await http.close();
    await ceilingDb.destroy();
    await pgPool.end();
    await service.stop();
    await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    await embedded?.stop();
    report(rows, peakMemoryMiB);
  }
}

function report(rows: Row[], peakMemoryMiB: number): void {
  if (popular.explain)
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the popular query at the largest size:\n${popular.explain}`);
  console.log(`\n${formatTable(rows)}`);
  console.log(
    `\nconcurrency ${concurrency}, pool ${poolSize} connections (service and ceiling alike), service peak RSS ${peakMemoryMiB.toFixed(0)} MiB, ` +
      `${os.cpus().length} cores, Node ${process.version}`,
  );
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replaceAll(':', '-')}.json`;
  const document = {
    at: new Date().toISOString(),
    concurrency,
    poolSize,
    peakMemoryMiB,
    node: process.version,
    rows,
    popularExplain: popular.explain ?? null,
  };
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync('bench/results/latest.json', `${JSON.stringify(document, null, 2)}\n`);
  console.log(`results written to ${file}`);
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

await main();
