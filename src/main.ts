import { pino } from 'pino';
import { buildApp } from './adapters/http/app.js';
import { createDb } from './adapters/postgres/database.js';
import type { EmbeddedDatabase } from './adapters/postgres/embedded.js';
import { migrateToLatest } from './adapters/postgres/migrate.js';
import { isDatabaseUnavailable } from './adapters/postgres/pg-errors.js';
import { seedDemoShopIfEmpty } from './adapters/seed/demo-shop.js';
import { ConfigError, loadConfig } from './config.js';
import { appDependencies, createContainer, seedUseCases, startKeyPurge, startOutboxRelay } from './container.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL });

  let embedded: EmbeddedDatabase | undefined;
  if (!config.DATABASE_URL) {
    // Loaded only when used: a deployment with DATABASE_URL needs none of its binaries.
    const { startEmbeddedPostgres } = await import('./adapters/postgres/embedded.js');
    embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_PG_DATA_DIR,
      port: config.EMBEDDED_PG_PORT,
      log: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    });
    logger.info(
      { dataDir: embedded.dataDir, port: config.EMBEDDED_PG_PORT, created: embedded.created },
      `embedded PostgreSQL ${embedded.created ? 'created' : 'started'}; data kept in ${embedded.dataDir}`,
    );
  }

  const db = createDb({
    url: config.DATABASE_URL ?? embedded!.url,
    poolSize: config.DATABASE_POOL_SIZE,
    connectionTimeoutMs: config.DATABASE_POOL_TIMEOUT_MS,
    onIdleConnectionError: (error) =>
      logger.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });
  const applied = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');

  const container = createContainer({
    repositories: { kind: 'POSTGRES', db },
    timeZone: config.SHOP_TIMEZONE,
    dataPlatform: {
      url: config.DATA_PLATFORM_URL,
      timeoutMs: config.DATA_PLATFORM_TIMEOUT_MS,
      maxAttempts: config.DATA_PLATFORM_MAX_ATTEMPTS,
      backoffBaseMs: config.DATA_PLATFORM_BACKOFF_BASE_MS,
      backoffCapMs: config.DATA_PLATFORM_BACKOFF_CAP_MS,
      log: (message, fields) => logger.info(fields, message),
    },
  });
  if (embedded && (await seedDemoShopIfEmpty(db, seedUseCases(container)))) {
    logger.info('seeded a demo shop into the empty embedded database');
  }

  const app = await buildApp(appDependencies(container), { logger, isUnavailable: isDatabaseUnavailable });
  await app.listen({ port: config.PORT, host: config.HOST });
  const relay = startOutboxRelay(container, (error) =>
    logger.error({ err: error }, 'outbox relay round failed; trying again shortly'),
  );
  const keyPurge = startKeyPurge(container, (error) =>
    logger.warn({ err: error }, 'purging expired idempotency keys failed'),
  );
  if (!config.DATA_PLATFORM_URL)
    logger.warn('DATA_PLATFORM_URL is unset: paid orders are logged, not sent to the data platform');
  logger.info({ startupMs: Math.round(performance.now() - startedAt) }, 'ready');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
    setTimeout(() => {
      logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting anyway`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    await app.close();
    keyPurge.stop();
    await relay.stop();
    await db.destroy();
    await embedded?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, (s) => void shutdown(s));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('start-up failed:', error);
  process.exit(1);
});
