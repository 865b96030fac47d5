import { createHash } from 'node:crypto';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type LogConfig,
  PostgresDialect,
  type PostgresDialectConfig,
  PostgresDriver,
  type RawBuilder,
  type TransactionSettings,
  sql,
} from 'kysely';
import pg from 'pg';
import { type SessionLimits, setLocalStatements } from './session-bounds.js';
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
   * Bounds every transaction of the pool sets for itself with SET LOCAL (see session-bounds.ts for the
   * statements outside one). Unset: the role's defaults, or the server's.
   */
  readonly limits?: SessionLimits | undefined;
  /** Kysely's query log: levels to log, or a function told each query sent (the bench reads the SQL from it). */
  readonly log?: LogConfig;
  /**
   * Send the statements marked with `prepared()` as named prepared statements: each connection parses and
   * plans one once, then only binds and runs it. Not through a transaction pooler that keeps no prepared
   * statements across its server sessions (PgBouncer before 1.21, or without max_prepared_statements).
   */
  readonly preparedStatements?: boolean;
}

/** How a statement marked by `prepared()` ends: its label, in a comment. */
const PREPARED = / \/\* prepared: ([a-z-]+) \*\/$/;

/**
 * Marks a hot statement whose text takes a few fixed forms (only its parameters vary per call), so that a
 * pool made with `preparedStatements` sends it prepared: parsing and planning a statement of a dozen CTEs
 * cost PostgreSQL about as much as running it. Each form is prepared once per connection under a name of its
 * own, so a text built per call (an inlined list) must not be marked. Elsewhere the mark is a comment. The
 * label names the prepared statement (and so its trace span); the mark goes last, so the text still starts
 * with its command.
 */
export function prepared<T>(label: string, statement: RawBuilder<T>): RawBuilder<T> {
  if (!/^[a-z-]+$/.test(label)) throw new Error(`prepared statement label "${label}": lowercase letters and - only`);
  return sql<T>`${statement} ${sql.raw(`/* prepared: ${label} */`)}`;
}

/** The label and a digest of the text: two texts can never share a name on a connection. */
const statementName = (label: string, text: string) =>
  `${label}_${createHash('sha256').update(text).digest('base64url').slice(0, 16)}`;

type Query = (...args: unknown[]) => unknown;

/** Makes `client` send the marked statements of Kysely's calls (text and values, nothing else) as named ones. */
function sendPreparedAsNamed(client: pg.PoolClient): void {
  const query = client.query.bind(client) as Query;
  const named: Query = (...args) => {
    const [text, values] = args;
    const label = args.length <= 2 && typeof text === 'string' ? PREPARED.exec(text)?.[1] : undefined;
    if (label !== undefined && (values === undefined || Array.isArray(values)))
      return query({ name: statementName(label, text as string), text, values });
    return query(...args);
  };
  client.query = named as typeof client.query;
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
  preparedStatements = false,
}: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // Without listeners, a connection's error would be thrown as an uncaught exception and end the process:
  // the pool's covers idle connections, the client's own covers one checked out when the server ends it
  // (a restart, pg_terminate_backend); the query in flight then fails and is answered 503.
  pool.on('error', (error) => onIdleConnectionError?.(error));
  pool.on('connect', (client) => {
    client.on('error', (error) => onIdleConnectionError?.(error));
    if (preparedStatements) sendPreparedAsNamed(client);
  });
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

/** BEGIN with its settings, then `setLocal`: no parameters, so pg sends it as one simple query, one round trip. */
function beginStatement(setLocal: string, { isolationLevel, accessMode }: TransactionSettings = {}): string {
  const begin = ['start transaction', isolationLevel && `isolation level ${isolationLevel}`, accessMode]
    .filter(Boolean)
    .join(' ');
  return setLocal ? `${begin}; ${setLocal}` : begin;
}

/** Kysely's driver, whose BEGIN carries the transaction's SET LOCAL bounds in the same round trip. */
class BoundedDriver extends PostgresDriver {
  constructor(
    config: PostgresDialectConfig,
    private readonly setLocal: string,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(beginStatement(this.setLocal, settings)));
  }
}

class BoundedDialect extends PostgresDialect {
  constructor(
    private readonly config: PostgresDialectConfig,
    private readonly setLocal: string,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return this.setLocal ? new BoundedDriver(this.config, this.setLocal) : new PostgresDriver(this.config);
  }
}

const pools = new WeakMap<Db, { pool: pg.Pool; setLocal: string }>();

export function createDb(options: DatabaseOptions): Db {
  const pool = createPool(options);
  const setLocal = setLocalStatements(options.limits ?? {});
  const db = new Kysely<Database>({
    dialect: new BoundedDialect({ pool }, setLocal),
    ...(options.log ? { log: options.log } : {}),
  });
  pools.set(db, { pool, setLocal });
  return db;
}

/**
 * The statements that begin a transaction on `db` as its pool begins them: BEGIN, then its bounds (see
 * session-bounds.ts), for a transaction begun by hand (the unit of work's). One simple query, one round trip.
 */
export function beginOf(db: Db): string {
  const setLocal = pools.get(db)?.setLocal;
  return setLocal ? `BEGIN; ${setLocal}` : 'BEGIN';
}

/**
 * A connection of `db`'s pool (made by createDb) in a transaction begun as its transactions are, bounds and
 * all, for work that must own its transaction's connection (the migrator): committed when `work` resolves,
 * rolled back when it throws.
 */
export async function inTransactionOf<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const made = pools.get(db);
  if (!made) throw new Error('inTransactionOf needs a database made by createDb');
  const client = await made.pool.connect();
  // A connection left inside a transaction (a COMMIT or ROLLBACK that failed) is closed, never reused.
  let clean = false;
  try {
    await client.query(beginStatement(made.setLocal));
    let result: T;
    try {
      result = await work(client);
    } catch (error) {
      await client.query('ROLLBACK');
      clean = true;
      throw error;
    }
    await client.query('COMMIT');
    clean = true;
    return result;
  } finally {
    client.release(!clean);
  }
}

/** The connections of a database made by createDb (the operations metrics read them); undefined otherwise. */
export function poolStatisticsOf(db: Db): (() => PoolStatistics) | undefined {
  const pool = pools.get(db)?.pool;
  if (!pool) return undefined;
  return () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max });
}
