/**
 * `npm run bench:tracing`: what tracing costs the service. The same load (orders, each with its SQL and its
 * delivery, among product reads) runs against the service with tracing off (no OTEL_* variables: the SDK
 * never loads), on with every trace sampled, and on with one trace in ten, exporting OTLP/protobuf to a sink
 * on loopback that counts the spans' bytes. Each row gives the rate, latencies and the service's CPU per
 * request, and its ratio to the tracing-off run of the same bench, which is the limit here. Tracing off
 * differs from before tracing existed by one call per outbox write; the first line times that call.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { JoseAccessTokens } from '../src/adapters/auth/jose-access-tokens.js';
import { parseSigningKey } from '../src/adapters/auth/signing-keys.js';
import { systemClock } from '../src/adapters/system-clock.js';
import { currentTraceCarrier } from '../src/adapters/tracing/trace-context.js';
import { withSearchPath } from '../tests/support/service-schema.js';
import { startTestPostgres } from '../tests/support/test-postgres.js';
import { benchAuth, benchSecrets, logInAdminAndCheck, serviceAuthEnvironment } from './auth.js';
import { type Stats, runLoad, scaled, statsOf } from './harness.js';
import { httpClient, startService } from './service.js';

const REQUESTS = scaled(8_000, 200);
const WARM_UP = scaled(800, 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const POOL_SIZE = Number(process.env.DATABASE_POOL_SIZE ?? 20);
const PRODUCTS = 100;
const BUYERS = 200;
/** One request in this many places an order; the rest read a product. */
const ORDER_EVERY = 4;

interface Mode {
  readonly name: string;
  readonly env: Record<string, string>;
}

/** An OTLP/HTTP collector stand-in that accepts every export and keeps only its size. */
async function startSink(): Promise<{ url: string; bytes: () => number; close(): Promise<void> }> {
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Nanoseconds per call of what tracing off adds to a request: the outbox writer's look for a trace. */
function offPathCostNs(): number {
  const calls = 1_000_000;
  let found = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (currentTraceCarrier()) found++;
  if (found !== 0) throw new Error('a trace was active with tracing off');
  return Number(process.hrtime.bigint() - started) / calls;
}

interface Result {
  readonly mode: string;
  readonly stats: Stats;
  readonly cpuUsPerRequest: number;
  readonly errors: number;
  readonly exportedKiB: number;
}

async function measure(serverUrl: string, mode: Mode, sinkBytes: () => number): Promise<Result> {
  const schema = `tracing_bench_${mode.name.replace(/\W+/g, '_')}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const databaseUrl = withSearchPath(serverUrl, schema);
  const secrets = benchSecrets();
  const service = await startService(databaseUrl, POOL_SIZE, { ...serviceAuthEnvironment(secrets), ...mode.env });
  const http = httpClient(service.origin, CONCURRENCY);
  try {
    const issuer = new JoseAccessTokens({
      signingKey: parseSigningKey(secrets.signingKeyPem),
      lifetimeSeconds: 3_600,
      clock: systemClock,
    });
    const auth = benchAuth(issuer, await logInAdminAndCheck(service.origin, secrets, issuer));
    const asAdmin = async (path: string, body: unknown) => {
      const { status, body: answer } = await http.request('POST', path, body, auth.admin.token);
      if (status >= 300) throw new Error(`${path} answered ${status}: ${JSON.stringify(answer)}`);
      return answer as { id: number };
    };
    const products = await Promise.all(
      Array.from({ length: PRODUCTS }, (_, i) =>
        asAdmin('/api/v1/admin/products', { name: `bench ${i}`, price: 1_000, stock: 1_000_000 }),
      ),
    );
    const buyers = await Promise.all(
      Array.from({ length: BUYERS }, (_, i) => asAdmin('/api/v1/admin/users', { name: `buyer ${i}` })),
    );
    await Promise.all(buyers.map(({ id }) => asAdmin(`/api/v1/users/${id}/balance/charge`, { amount: 10_000_000 })));
    const tokens = await auth.tokensFor(buyers.map(({ id }) => id));
    const task = async (i: number) => {
      const product = products[i % PRODUCTS]!;
      if (i % ORDER_EVERY !== 0) return (await http.request('GET', `/api/v1/products/${product.id}`)).status;
      const b = (i / ORDER_EVERY) % BUYERS;
      const order = { userId: buyers[b]!.id, items: [{ productId: product.id, quantity: 1 }] };
      return (await http.request('POST', '/api/v1/orders', order, tokens[b])).status;
    };
    await runLoad(`${mode.name} (warm-up)`, WARM_UP, CONCURRENCY, task);
    await sleep(500);
    const bytesBefore = sinkBytes();
    const run = await runLoad(mode.name, REQUESTS, CONCURRENCY, (i) => task(i + WARM_UP), {
      cpu: () => service.cpuUs(),
    });
    // The batch processor sends what it holds within OTEL_BSP_SCHEDULE_DELAY (5 s by default).
    await sleep(mode.env.OTEL_EXPORTER_OTLP_ENDPOINT ? 5_500 : 0);
    return {
      mode: mode.name,
      stats: statsOf(run.samples, run.elapsedMs),
      cpuUsPerRequest: run.cpuUsPerRequest ?? Number.NaN,
      errors: run.samples.filter((sample) => sample.value >= 300 || sample.value === 0).length,
      exportedKiB: (sinkBytes() - bytesBefore) / 1024,
    };
  } finally {
    await http.close();
    await service.stop();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const server = await startTestPostgres();
  const sink = await startSink();
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
  const modes: Mode[] = [
    { name: 'tracing off', env: {} },
    { name: 'tracing on, all sampled', env: on },
    {
      name: 'tracing on, 1 in 10 sampled',
      env: { ...on, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
    },
  ];
  try {
    const offNs = offPathCostNs();
    const results: Result[] = [];
    for (const mode of modes) results.push(await measure(server.url, mode, sink.bytes));
    const [off] = results;
    console.log(
      `\n${REQUESTS} requests per run, ${CONCURRENCY} clients, one in ${ORDER_EVERY} an order (SQL, outbox, delivery), ` +
        `the rest product reads; PostgreSQL from ${server.source}`,
    );
    console.log(`tracing off adds one call per outbox write: ${offNs.toFixed(0)} ns each`);
    console.log(
      ['mode'.padEnd(30), 'req/s', '÷off', 'p50 ms', 'p99 ms', 'CPU µs/req', '÷off', 'errors', 'exported KiB'].join(
        '  ',
      ),
    );
    for (const result of results) {
      const { stats } = result;
      console.log(
        [
          result.mode.padEnd(30),
          stats.rps.toFixed(0).padStart(5),
          (stats.rps / off!.stats.rps).toFixed(2).padStart(4),
          stats.p50.toFixed(1).padStart(6),
          stats.p99.toFixed(1).padStart(6),
          result.cpuUsPerRequest.toFixed(0).padStart(10),
          (result.cpuUsPerRequest / off!.cpuUsPerRequest).toFixed(2).padStart(4),
          String(result.errors).padStart(6),
          result.exportedKiB.toFixed(0).padStart(12),
        ].join('  '),
      );
    }
    if (results.some((result) => result.errors > 0)) process.exitCode = 1;
  } finally {
    await sink.close();
    await server.stop();
  }
}

await main();
