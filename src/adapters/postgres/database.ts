import { Kysely, type LogConfig, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './tables.js';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize?: number;
  /** How long a query may wait for a free connection before it fails. */
  readonly connectionTimeoutMs?: number;
  /** Postgres schema to work in (tests give each file its own). */
  readonly schema?: string;
  /** Told when a connection dies (a database restart, say); the pool replaces it by itself. */
  readonly onIdleConnectionError?: (error: Error) => void;
  /**
   * Bounds every session of the pool sets for itself (PostgreSQL's statement_timeout, lock_timeout and
   * idle_in_transaction_session_timeout). Unset: none, for the command-line tools' long statements.
   */
  readonly limits?: SessionLimits | undefined;
  /** Kysely's query log: levels to log, or a function told each query sent (the bench reads the SQL from it). */
  readonly log?: LogConfig;
}

export interface SessionLimits {
  readonly statementTimeoutMs?: number;
  readonly lockTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
}

const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;

/**
 * Money and ids are bigint columns; every value this service stores stays below 2^53, so they are read as
 * plain numbers; calendar days are read as their text. Per pool, not pg's global parser table, so nothing
 * else in the process is affected.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    // A calendar day stays 'YYYY-MM-DD': as a Date it would become some time zone's midnight.
    if (oid === DATE) return (value: string) => value;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

function createPool({
  url,
  poolSize = 20,
  connectionTimeoutMs = 5_000,
  schema,
  onIdleConnectionError,
  limits = {},
}: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
    ...(limits.lockTimeoutMs ? { lock_timeout: limits.lockTimeoutMs } : {}),
    ...(limits.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs }
      : {}),
  });
  // Without listeners, a connection's error would be thrown as an uncaught exception and end the process:
  // the pool's covers idle connections, the client's own covers one checked out when the server ends it
  // (a restart, pg_terminate_backend); the query in flight then fails and is answered 503.
  pool.on('error', (error) => onIdleConnectionError?.(error));
  pool.on('connect', (client) => client.on('error', (error) => onIdleConnectionError?.(error)));
  return pool;
}

/** A pool's connections right now, as pg counts them. */
export interface PoolStatistics {
  /** Open, idle or checked out. */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly waiting: number;
  readonly max: number;
}

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(options: DatabaseOptions): Db {
  const pool = createPool(options);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    ...(options.log ? { log: options.log } : {}),
  });
  pools.set(db, pool);
  return db;
}

/** The connections of a database made by createDb (the operations metrics read them); undefined otherwise. */
export function poolStatisticsOf(db: Db): (() => PoolStatistics) | undefined {
  const pool = pools.get(db);
  if (!pool) return undefined;
  return () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max });
}
