/**
 * `npm run generate -- <lines>`: adds that many order lines (default 1,000,000) over 30 days and 10,000
 * products, in bulk, to DATABASE_URL or else to the benchmarks' embedded server (.data/bench-postgres,
 * database shop_generated), never to the development shop: it writes orders without payments, so
 * `npm run check` would rightly fail on a shop it had filled. See generateOrderLines.
 */
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/adapters/postgres/embedded.js';
import { createDb } from '../src/adapters/postgres/database.js';
import { migrateToLatest } from '../src/adapters/postgres/migrate.js';
import { loadConfig } from '../src/config.js';
import { generateOrderLines } from './generate.js';
import { progressBar } from './harness.js';

const lines = Number(process.argv[2] ?? 1_000_000);
if (!Number.isSafeInteger(lines) || lines < 1) {
  console.error('usage: npm run generate -- <number of order lines>');
  process.exit(2);
}
const config = loadConfig();
const embedded = config.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({
      dataDir: '.data/bench-postgres',
      port: Number(process.env.BENCH_PG_PORT ?? 54_330),
      database: 'shop_generated',
    });
const url = config.DATABASE_URL ?? embedded!.url;
const db = createDb({ url, poolSize: 1 });
await migrateToLatest(db);
await db.destroy();
// Bulk statements run long: none is bounded by the service's role defaults (session-bounds.ts) here.
const pool = new pg.Pool({ connectionString: url, max: 1, statement_timeout: 0 });
const started = performance.now();
try {
  await generateOrderLines(pool, {
    lines,
    timeZone: config.SHOP_TIMEZONE,
    onProgress: progressBar('generating order lines'),
  });
  process.stderr.write('\n');
  console.log(`${lines} order lines in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await pool.end();
  // Stops only a server this run started: one already running (a running `npm start`'s) was adopted, and
  // neither this stop nor the exit hook touches it.
  await embedded?.stop();
}
