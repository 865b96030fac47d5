import { loadConfig } from '../../config.js';
import { createDb } from './database.js';
import { checkInvariants } from './invariants.js';

/**
 * `npm run check`: the invariants, against DATABASE_URL or the embedded development database. Exits 1 if
 * one breaks.
 */
const config = loadConfig();
let embedded: { url: string; stop(): Promise<void> } | undefined;
if (!config.DATABASE_URL) {
  const { startEmbeddedPostgres } = await import('./embedded.js');
  embedded = await startEmbeddedPostgres({ dataDir: config.EMBEDDED_PG_DATA_DIR, port: config.EMBEDDED_PG_PORT });
}
const db = createDb({ url: config.DATABASE_URL ?? embedded!.url, poolSize: 1 });
try {
  const results = await checkInvariants(db, config.SHOP_TIMEZONE);
  for (const result of results) {
    console.log(
      `${result.holds ? 'OK  ' : 'FAIL'} ${result.name}${result.holds ? '' : ` (${result.violations} violations)`}`,
    );
    for (const example of result.examples) console.log(`       ${JSON.stringify(example)}`);
  }
  process.exitCode = results.every((result) => result.holds) ? 0 : 1;
} finally {
  await db.destroy();
  // Stops only a server this run started: one already running (a running `npm start`'s) was adopted, and
  // neither this stop nor the exit hook touches it.
  await embedded?.stop();
}
