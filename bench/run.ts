/**
 * `npm run bench [-- scenario ...]`: starts the service as its own process on a fresh database (on the
 * embedded server, or on the server of DATABASE_URL), runs each scenario against it over HTTP and, as the
 * ceiling, the same use cases and adapters in this process without HTTP, and as the limit the same work in
 * the fewest statements through pg (limits.ts), each against the one-row reference measured first and last
 * in the same run (the second yardstick of issue 20's targets), and prints one table. Results
 * also go to bench/results/. Authentication is on, as in production: the service gets a signing key made
 * for the run and an administrator; every request that needs a token carries its user's (see auth.ts).
 * `BENCH_SCALE=0.05` makes a short smoke run of the same scenarios; `BENCH_CONCURRENCY` (64) and
 * `DATABASE_POOL_SIZE` (20) tune it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { parseSigningKey } from '../src/adapters/auth/signing-keys.js';
import { createDb } from '../src/adapters/postgres/database.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/adapters/postgres/embedded.js';
import { accessTokens, appDependencies, createContainer } from '../src/container.js';
import {
  MINTED_TOKEN_LIFETIME_S,
  benchAuth,
  benchSecrets,
  logInAdminAndCheck,
  serviceAuthEnvironment,
} from './auth.js';
import { ownCpuUs, postgresCpuProbe } from './cpu.js';
import {
  BENCH_SCALE,
  type Row,
  type Stats,
  TAIL_LIMIT,
  againstOneRow,
  formatCpuTable,
  formatTable,
  traceMachineCpu,
} from './harness.js';
import { oneRowReference } from './limits.js';
import { popular, scenarios } from './scenarios/index.js';
import { type AuthRefusals, httpClient, startService } from './service.js';

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
  // Where the bench's database is created and dropped, and who the service connects as: DATABASE_URL's user
  // for both, or on the embedded server its superuser and the service's own role.
  let serverUrl = process.env.DATABASE_URL;
  let serviceUrl = serverUrl;
  if (!serverUrl) {
    process.stderr.write('starting the embedded PostgreSQL for benchmarks (.data/bench-postgres)\n');
    // The server's own lines are kept and shown only if it fails to start, so the failure says why.
    const serverLog: string[] = [];
    embedded = await startEmbeddedPostgres({
      dataDir: '.data/bench-postgres',
      port: Number(process.env.BENCH_PG_PORT ?? 54_330),
      log: (line) => void serverLog.push(line),
    }).catch((error: unknown) => {
      process.stderr.write(serverLog.slice(-20).join('\n') + '\n');
      throw error;
    });
    serverUrl = embedded.superuserUrl;
    serviceUrl = embedded.url;
  }
  traceMachineCpu(ownCpuUs, embedded ? postgresCpuProbe(embedded.dataDir) : null);
  const database = `shop_bench_${Date.now()}`;
  const owner = decodeURIComponent(new URL(serviceUrl!).username);
  await admin(serverUrl, (client) =>
    client.query(`CREATE DATABASE ${database} OWNER ${client.escapeIdentifier(owner)}`),
  );
  const benchUrl = withDatabase(serviceUrl!, database);

  const secrets = benchSecrets();
  const service = await startService(benchUrl, poolSize, serviceAuthEnvironment(secrets));
  const http = httpClient(service.origin, concurrency);
  // The ceiling: the service's composition root on a database of the same pool size, in this process, with
  // the service's signing key, so the tokens it mints are the service's and its Authenticate accepts them.
  const ceilingDb = createDb({ url: benchUrl, poolSize, preparedStatements: true });
  const container = createContainer({
    repositories: { kind: 'POSTGRES', db: ceilingDb },
    timeZone,
    auth: { signingKey: parseSigningKey(secrets.signingKeyPem), accessTokenTtlS: MINTED_TOKEN_LIFETIME_S },
  });
  const ceiling = { useCases: appDependencies(container), db: ceilingDb };
  // Bulk loads and checks run long: none is bounded by the service's role defaults (session-bounds.ts) here.
  const pgPool = new pg.Pool({ connectionString: benchUrl, max: poolSize, statement_timeout: 0 });
  const rows: Row[] = [];
  const oneRow: OneRow = {};
  let refusals: AuthRefusals = { unauthenticated: 0, forbidden: 0 };
  try {
    const first = await oneRowReference(pgPool, concurrency, 'first');
    oneRow.first = first.stats;
    rows.push(first.row);
    const issuer = accessTokens(container);
    const auth = benchAuth(issuer, await logInAdminAndCheck(service.origin, secrets, issuer));
    process.stderr.write('auth: the admin logged in; no token is 401, a minted customer token is accepted\n');
    for (const scenario of chosen) {
      process.stderr.write(`\n${scenario.name}: ${scenario.description}\n`);
      const context = {
        http,
        serviceCpuUs: () => service.cpuUs(),
        ceiling,
        auth,
        pg: pgPool,
        databaseUrl: benchUrl,
        concurrency,
        timeZone,
      };
      rows.push(...(await scenario.run(context)));
    }
    process.stderr.write('\none-row reference again, after the scenarios\n');
    const last = await oneRowReference(pgPool, concurrency, 'last');
    oneRow.last = last.stats;
    // Beside the first, at the top of the table.
    rows.splice(1, 0, last.row);
  } finally {
    const peakMemoryMiB = service.peakMemoryMiB();
    refusals = http.refusals();
    await http.close();
    await ceilingDb.destroy();
    await pgPool.end();
    await service.stop();
    await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    await embedded?.stop();
    report(rows, oneRow, peakMemoryMiB, refusals);
  }
}

/** The one-row reference, measured before the scenarios and after them (when the run got that far). */
interface OneRow {
  first?: Stats;
  last?: Stats;
}

/** The reference's rate the targets divide by: the mean of its two measurements, or the one there is. */
function referenceRps({ first, last }: OneRow): number | undefined {
  const measured = [first, last].filter((stats) => stats !== undefined);
  return measured.length === 0 ? undefined : measured.reduce((sum, stats) => sum + stats.rps, 0) / measured.length;
}

function report(measured: Row[], oneRow: OneRow, peakMemoryMiB: number, refusals: AuthRefusals): void {
  const oneRowRps = referenceRps(oneRow);
  const rows = oneRowRps === undefined ? measured : againstOneRow(measured, oneRowRps);
  if (popular.explain)
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the popular query at the largest size:\n${popular.explain}`);
  console.log(`\n${formatTable(rows)}`);
  console.log(`\nCPU µs per request, by process (the three share the machine's cores):\n${formatCpuTable(rows)}`);
  console.log(
    `\nconcurrency ${concurrency}, pool ${poolSize} connections (service and ceiling alike), service peak RSS ${peakMemoryMiB.toFixed(0)} MiB, ` +
      `${os.cpus().length} cores, Node ${process.version}` +
      (BENCH_SCALE === 1 ? '' : `; BENCH_SCALE ${BENCH_SCALE}: a smoke run, its figures are not comparable`),
  );
  const reference =
    oneRowRps === undefined
      ? ''
      : ` (${oneRowRps.toFixed(0)} req/s, the mean of ${[oneRow.first, oneRow.last]
          .filter((stats) => stats !== undefined)
          .map((stats) => stats.rps.toFixed(0))
          .join(' and ')})`;
  console.log(
    `÷limit is the headline (service ÷ the same work in the fewest statements through pg); ÷one-row is ` +
      `against the one-row reference of this run${reference}; the targets in brackets are issue 20's; ` +
      `">${TAIL_LIMIT}" marks a write row whose p99 is over ${TAIL_LIMIT}× its p50`,
  );
  const refused = refusals.unauthenticated + refusals.forbidden;
  console.log(
    `requests refused for their token: ${refusals.unauthenticated} answered 401, ${refusals.forbidden} answered 403` +
      (refused === 0 ? '' : ' (FAIL: every request carries a token that may do what it asks)'),
  );
  mkdirSync('bench/results', { recursive: true });
  // A smoke run's figures are not results: kept apart, and latest.json stays the last full run.
  const smoke = BENCH_SCALE !== 1;
  const file = `bench/results/${smoke ? 'smoke-' : ''}${new Date().toISOString().replaceAll(':', '-')}.json`;
  const document = {
    at: new Date().toISOString(),
    concurrency,
    poolSize,
    scale: BENCH_SCALE,
    peakMemoryMiB,
    refusals,
    node: process.version,
    oneRow: oneRowRps === undefined ? null : { rps: oneRowRps, first: oneRow.first ?? null, last: oneRow.last ?? null },
    rows,
    popularExplain: popular.explain ?? null,
  };
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  if (!smoke) writeFileSync('bench/results/latest.json', `${JSON.stringify(document, null, 2)}\n`);
  console.log(`results written to ${file}`);
  if (rows.some((r) => !r.ok) || refused > 0) process.exitCode = 1;
}

await main();
