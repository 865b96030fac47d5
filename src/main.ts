import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import {
  KeyError,
  type SigningKey,
  newSigningKeyPem,
  parseSigningKey,
  parseVerifyKeys,
} from './adapters/auth/signing-keys.js';
import {
  WEBHOOK_SECRET_FORMAT,
  WebhookSigner,
  isWebhookSecret,
  newWebhookSecret,
} from './adapters/data-platform/webhook-signer.js';
import { buildApp } from './adapters/http/app.js';
import { createLogger } from './adapters/logging/logger.js';
import { createDb } from './adapters/postgres/database.js';
import type { EmbeddedDatabase } from './adapters/postgres/embedded.js';
import { encodingProblem } from './adapters/postgres/encoding.js';
import { migrateToLatest } from './adapters/postgres/migrate.js';
import { startReplicaSet } from './adapters/postgres/replicas.js';
import { applyRoleDefaults } from './adapters/postgres/session-bounds.js';
import { isDatabaseUnavailable } from './adapters/postgres/pg-errors.js';
import { PgSalesRollup, startSalesFolding } from './adapters/postgres/pg-sales-rollup.js';
import { SecretFileRefused, readOrCreateSecret } from './adapters/secrets/secret-files.js';
import { DEMO_ADMIN_EMAIL, seedDemoShopIfEmpty } from './adapters/seed/demo-shop.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import {
  accountByEmail,
  appDependencies,
  createContainer,
  ensureAdmin,
  seedUseCases,
  startOutboxRelay,
} from './container.js';
import { startKeyPurge } from './key-purge.js';
import { TRACING_PRELOAD, tracingConfigured } from './adapters/tracing/tracing-config.js';
import { isTracing, stopTracing } from './adapters/tracing/tracing-runtime.js';
import { withUseCaseSpans } from './adapters/tracing/use-case-spans.js';

/**
 * Where the embedded demo keeps its secrets: a directory of their own beside its database (the one the
 * embedded server's credentials are in too), never in the repository.
 */
const secretsDirOf = (config: Config) => join(dirname(resolve(config.EMBEDDED_PG_DATA_DIR)), 'secrets');

/**
 * The embedded demo's secret `name`: read from the secrets directory, moved there from beside the data
 * directory where older versions kept it, or made.
 */
function demoSecret(config: Config, name: string, make: () => string) {
  const path = join(secretsDirOf(config), name);
  const legacy = join(dirname(resolve(config.EMBEDDED_PG_DATA_DIR)), name);
  return { path, ...readOrCreateSecret(path, make, { legacy }) };
}

/**
 * The access tokens' signing key: AUTH_SIGNING_KEY when set; on the embedded default, one made at the first
 * start and kept in .data/secrets/. With DATABASE_URL and no key the service refuses to start: instances that
 * share a database must share a key, and a key made here would be this instance's alone.
 */
function signingKeyOf(config: Config): { key: SigningKey; path?: string; created?: boolean; movedFrom?: string } {
  if (config.AUTH_SIGNING_KEY)
    return { key: keyFrom('AUTH_SIGNING_KEY', () => parseSigningKey(config.AUTH_SIGNING_KEY!)) };
  if (config.DATABASE_URL)
    throw new ConfigError([
      'AUTH_SIGNING_KEY is required with DATABASE_URL (every instance on one database must sign with the same key); ' +
        'make one with: openssl genpkey -algorithm ed25519',
    ]);
  const { path, text, created, movedFrom } = demoSecret(config, 'auth-signing-key.pem', newSigningKeyPem);
  return { key: keyFrom(path, () => parseSigningKey(text)), path, created, movedFrom };
}

function keyFrom<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof KeyError) throw new ConfigError([`${source}: ${error.message}`]);
    throw error;
  }
}

/**
 * What signs the deliveries, when there is a DATA_PLATFORM_URL to deliver to: DATA_PLATFORM_SECRET (and the
 * previous ones) when set; on the embedded default, one made at the first start and kept in .data/secrets/.
 * With DATABASE_URL and no secret the service refuses to start: every instance must sign with the secret the
 * platform holds, and one made here would be this instance's alone. The secret itself is never logged.
 */
function deliverySignerOf(config: Config): { signer?: WebhookSigner; path?: string; created?: boolean } {
  if (!config.DATA_PLATFORM_URL) return {};
  const previous = config.DATA_PLATFORM_PREVIOUS_SECRETS;
  if (config.DATA_PLATFORM_SECRET) return { signer: new WebhookSigner([config.DATA_PLATFORM_SECRET, ...previous]) };
  if (config.DATABASE_URL)
    throw new ConfigError([
      'DATA_PLATFORM_SECRET is required with DATABASE_URL and DATA_PLATFORM_URL (every instance must sign ' +
        'deliveries with the secret the data platform verifies); make one with: echo "whsec_$(openssl rand -base64 32)"',
    ]);
  const { path, text, created } = demoSecret(config, 'data-platform-secret', newWebhookSecret);
  if (!isWebhookSecret(text.trim())) throw new ConfigError([`${path}: must hold ${WEBHOOK_SECRET_FORMAT}`]);
  return { signer: new WebhookSigner([text.trim(), ...previous]), path, created };
}

/** A reason not to start that the operator can act on: printed as its one line, without a stack. */
class StartRefused extends Error {}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  // Pretty lines for a person at a terminal, JSON for anything that reads the output (see README, Logs).
  // The SDK, when configured, was started by the preload (see start-tracing.ts) before anything it patches.
  const tracing = isTracing();
  const logger = await createLogger({
    level: config.LOG_LEVEL,
    pretty: process.stdout.isTTY === true,
    traceFields: tracing,
  });
  if (tracing) logger.info('tracing: spans go to the OTLP endpoint the OTEL_* variables name');
  else if (tracingConfigured(process.env))
    logger.warn(`OTEL_* configures tracing, but the process started without ${TRACING_PRELOAD}: no spans are made`);
  // Keys first: a misconfigured instance stops before it touches (or migrates) a shared database.
  const signing = signingKeyOf(config);
  if (signing.path)
    logger.info(
      { path: signing.path, movedFrom: signing.movedFrom },
      `access-token signing key ${signing.created ? 'created' : signing.movedFrom ? 'moved into the secrets directory' : 'read'}`,
    );
  const delivery = deliverySignerOf(config);
  if (delivery.path)
    logger.info(
      { path: delivery.path },
      `data platform signing secret ${delivery.created ? 'created' : 'read'}: give the platform the one in ${delivery.path} to verify deliveries`,
    );
  // The demo's passwords, random, kept in the secrets directory (never logged, never in the repo): one for the
  // admin, one the demo customers share. Read before the database starts, so a refused file stops it first.
  const demoPasswords = config.DATABASE_URL
    ? undefined
    : {
        admin: demoSecret(config, 'demo-admin-password', () => randomBytes(12).toString('base64url')),
        customers: demoSecret(config, 'demo-password', () => randomBytes(12).toString('base64url')),
      };
  const verifyKeys = config.AUTH_VERIFY_KEYS
    ? keyFrom('AUTH_VERIFY_KEYS', () => parseVerifyKeys(config.AUTH_VERIFY_KEYS!))
    : [];

  let embedded: EmbeddedDatabase | undefined;
  if (!config.DATABASE_URL) {
    // Loaded only when used: a deployment with DATABASE_URL needs none of its binaries.
    const { startEmbeddedPostgres } = await import('./adapters/postgres/embedded.js');
    embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_PG_DATA_DIR,
      port: config.EMBEDDED_PG_PORT,
      // Its own process group: the terminal's Ctrl-C reaches the service alone, which stops the server once
      // the requests in flight are done (shutdown, below).
      ownProcessGroup: true,
      log: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    });
    logger.info(
      { dataDir: embedded.dataDir, port: config.EMBEDDED_PG_PORT, created: embedded.created },
      `embedded PostgreSQL ${embedded.created ? 'created' : 'started'}; data kept in ${embedded.dataDir}`,
    );
  }

  const limits = {
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: config.DATABASE_LOCK_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
  const pool = {
    url: config.DATABASE_URL ?? embedded!.url,
    poolSize: config.DATABASE_POOL_SIZE,
    connectionTimeoutMs: config.DATABASE_POOL_TIMEOUT_MS,
    limits,
    // DATABASE_URL may be a transaction pooler that keeps no prepared statement across its sessions.
    preparedStatements: (config.DATABASE_PREPARED_STATEMENTS ?? String(!config.DATABASE_URL)) === 'true',
    onIdleConnectionError: (error: Error) =>
      logger.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  };
  // On a connection of its own, before the service's pool opens any: the role's defaults bound the
  // statements outside a transaction (session-bounds.ts) in every session started after they are written.
  const first = createDb({ ...pool, poolSize: 1 });
  try {
    // Before anything is written: a database that would count bytes for characters is refused outright.
    const encoding = await encodingProblem(first, embedded?.dataDir);
    if (encoding) throw new StartRefused(encoding);
    // A role that may not set its own defaults leaves them to the server's settings, which the operator is told.
    await applyRoleDefaults(first, limits).then(
      (changed) => changed && logger.info(limits, "the database role's default timeouts set"),
      (error: unknown) =>
        logger.warn(
          { err: error },
          "could not set the database role's default timeouts: statements outside a transaction run under the server's",
        ),
    );
  } finally {
    await first.destroy();
  }
  const db = createDb(pool);
  const applied = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');

  const replicas =
    config.DATABASE_REPLICA_URLS.length === 0
      ? undefined
      : startReplicaSet(
          db,
          config.DATABASE_REPLICA_URLS,
          { poolSize: config.DATABASE_POOL_SIZE, connectionTimeoutMs: config.DATABASE_POOL_TIMEOUT_MS, limits },
          {
            maxLagMs: config.DATABASE_REPLICA_MAX_LAG_MS,
            onChange: ({ name, up }, why) =>
              up
                ? logger.info({ replica: name }, 'read replica up: the catalog reads from it while it keeps up')
                : logger.warn({ replica: name, err: why }, 'read replica down: the primary answers its reads'),
          },
        );

  const container = createContainer({
    repositories: { kind: 'POSTGRES', db, replicas },
    auth: {
      signingKey: signing.key,
      verifyKeys,
      accessTokenTtlS: config.AUTH_ACCESS_TOKEN_TTL_S,
      refreshTokenTtlS: config.AUTH_REFRESH_TOKEN_TTL_S,
      rateLimitPerMinute: config.AUTH_RATE_LIMIT_PER_MINUTE,
      external: config.AUTH_JWKS_URL
        ? {
            jwksUrl: new URL(config.AUTH_JWKS_URL),
            issuer: config.AUTH_ISSUER!,
            audience: config.AUTH_AUDIENCE!,
            adminClaim: config.AUTH_ADMIN_CLAIM,
            adminRole: config.AUTH_ADMIN_ROLE,
            accessTokenClaim: config.AUTH_ACCESS_TOKEN_CLAIM,
          }
        : undefined,
    },
    timeZone: config.SHOP_TIMEZONE,
    tracing,
    dataPlatform: {
      url: config.DATA_PLATFORM_URL,
      timeoutMs: config.DATA_PLATFORM_TIMEOUT_MS,
      maxAttempts: config.DATA_PLATFORM_MAX_ATTEMPTS,
      backoffBaseMs: config.DATA_PLATFORM_BACKOFF_BASE_MS,
      backoffCapMs: config.DATA_PLATFORM_BACKOFF_CAP_MS,
      concurrency: config.DATA_PLATFORM_CONCURRENCY,
      signer: delivery.signer,
      log: (message, fields) => logger.info(fields, message),
    },
    onMetricsError: (error) => logger.warn({ err: error }, 'a /metrics scrape could not read the outbox figures'),
  });
  if (embedded && demoPasswords) {
    // The start log says where the passwords are.
    const files = { admin: demoPasswords.admin.path, customers: demoPasswords.customers.path };
    const passwords = { admin: demoPasswords.admin.text.trim(), customers: demoPasswords.customers.text.trim() };
    if (await seedDemoShopIfEmpty(db, seedUseCases(container), passwords))
      logger.info('seeded a demo shop into the empty embedded database');
    logger.info(
      {
        admin: DEMO_ADMIN_EMAIL,
        customers: ['minji@shop.test', 'jiho@shop.test', 'seoyeon@shop.test'],
        passwordFiles: files,
      },
      `demo accounts: customers such as minji@shop.test with the password in ${files.customers}; ${DEMO_ADMIN_EMAIL} with the one in ${files.admin}`,
    );
  }

  // After the demo seed, which fills only a database without users.
  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    const created = await ensureAdmin(container, config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    if (created) logger.info({ userId: created.id }, 'created the administrator named by ADMIN_EMAIL');
    else if ((await accountByEmail(container, config.ADMIN_EMAIL))?.role !== 'ADMIN')
      // Someone signed up with that email first; it stays a customer, and nobody became an administrator.
      logger.warn('ADMIN_EMAIL belongs to an existing customer account, left unchanged: no administrator was created');
  }

  const app = await buildApp(tracing ? withUseCaseSpans(appDependencies(container)) : appDependencies(container), {
    logger,
    isUnavailable: isDatabaseUnavailable,
    corsOrigins: config.CORS_ORIGINS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.HTTP_CONNECTION_TIMEOUT_MS,
    trustProxy: config.TRUST_PROXY,
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  // Only the embedded single-process demo may log events instead of sending them. On a database other
  // instances may share, an instance that can't deliver must not claim events: they wait for one that can.
  const delivers = Boolean(config.DATA_PLATFORM_URL) || embedded !== undefined;
  const relay = delivers
    ? startOutboxRelay(container, (error) =>
        logger.error({ err: error }, 'outbox relay round failed; trying again shortly'),
      )
    : { stop: async () => undefined };
  const keyPurge = startKeyPurge(container, (error) =>
    logger.warn({ err: error }, 'purging expired idempotency keys failed'),
  );
  const folding = startSalesFolding(new PgSalesRollup(db), {
    onError: (error) =>
      logger.warn({ err: error }, 'folding sales into the popular-products rollup failed; trying again shortly'),
  });
  if (!config.DATA_PLATFORM_URL && embedded)
    logger.warn('DATA_PLATFORM_URL is unset: paid orders are logged, not sent to the data platform');
  else if (!config.DATA_PLATFORM_URL)
    logger.warn(
      'DATA_PLATFORM_URL is unset: this instance delivers no events; they wait in the outbox for an instance that has it',
    );
  logger.info({ startupMs: Math.round(performance.now() - startedAt) }, 'ready');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A repeated signal (systemd signals the whole group, tsx relays what it gets, an operator presses twice)
      // must not cut the drain short and lose the requests in flight: SHUTDOWN_TIMEOUT_MS still bounds it.
      logger.warn({ signal }, 'already shutting down; the signal is ignored until the requests in flight are done');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
    setTimeout(() => {
      logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting anyway`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    await app.close();
    keyPurge.stop();
    await folding.stop();
    await relay.stop();
    await replicas?.stop();
    await db.destroy();
    await embedded?.stop();
    // Last: nothing after the relay's drain makes spans, and the collector may be slow or gone.
    if ((await stopTracing()) === 'dropped') logger.warn('the last spans could not be exported in time; dropped');
    logger.info('stopped');
    process.exit(0);
  };
  // SIGHUP too (the terminal closed): its default would end the process at once, leaving the embedded
  // server, which runs on in a process group of its own, behind. `on`, not `once`: with no listener left, a
  // second signal would end the process mid-drain (by default, or by tsx's preflight, which exits then).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, (s) => void shutdown(s));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartRefused || error instanceof SecretFileRefused)
    console.error(error.message);
  else console.error('start-up failed:', error);
  process.exit(1);
});
