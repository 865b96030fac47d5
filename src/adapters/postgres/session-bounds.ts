import { sql } from 'kysely';
import type { Db } from './database.js';

// The service's statement, lock and idle-in-transaction bounds hold behind a transaction-mode pooler as on a
// direct connection, so none of them is session state: a pooler such as PgBouncer refuses them as startup
// parameters, and a session SET would stay on whichever server connection it landed on. Instead:
// - every transaction sets them with SET LOCAL, in the same round trip as its BEGIN (createDb);
// - a statement outside a transaction runs under the role's own defaults in this database, which the
//   service writes at start-up (applyRoleDefaults): what every session of the role starts with, pooled or not.

/** PostgreSQL's statement_timeout, lock_timeout and idle_in_transaction_session_timeout, in ms (0: none). */
export interface SessionLimits {
  readonly statementTimeoutMs?: number;
  readonly lockTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
}

/** PostgreSQL's largest value for these settings: past it, a SET fails and aborts the transaction it began. */
const MAX_MS = 2_147_483_647;

/** The settings `limits` gives, by their PostgreSQL names, as whole milliseconds. */
function settingsOf(limits: SessionLimits): [string, number][] {
  const named: [string, number | undefined][] = [
    ['statement_timeout', limits.statementTimeoutMs],
    ['lock_timeout', limits.lockTimeoutMs],
    ['idle_in_transaction_session_timeout', limits.idleInTransactionTimeoutMs],
  ];
  return named.flatMap(([name, ms]) => {
    if (ms === undefined) return [];
    // Written into SQL text (SET takes no parameters): only a whole number of milliseconds gets there.
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_MS) {
      throw new Error(`${name} must be a whole number of ms from 0 to ${MAX_MS}, not ${ms}`);
    }
    return [[name, ms]];
  });
}

/** `SET LOCAL` of each bound `limits` gives, as one line of SQL; empty when it gives none. */
export function setLocalStatements(limits: SessionLimits): string {
  return settingsOf(limits)
    .map(([name, ms]) => `SET LOCAL ${name} = ${ms}`)
    .join('; ');
}

/**
 * Makes `limits` the defaults of the connected role in the connected database, where they differ from what
 * is there: new sessions start with them, existing ones (a pooler's open server connections) keep theirs
 * until they are replaced. Every instance on one database must be given the same bounds. Returns whether
 * anything changed.
 */
export async function applyRoleDefaults(db: Db, limits: SessionLimits): Promise<boolean> {
  const wanted = settingsOf(limits);
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ database: string; config: string[] | null }>`
      SELECT current_database() AS database,
             (SELECT setconfig FROM pg_db_role_setting
              WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())) AS config`.execute(
      trx,
    );
    const { database, config } = rows[0]!;
    const current = new Set(config ?? []);
    const missing = wanted.filter(([name, ms]) => !current.has(`${name}=${ms}`));
    for (const [name, ms] of missing) {
      await sql`ALTER ROLE CURRENT_USER IN DATABASE ${sql.id(database)} SET ${sql.raw(name)} = ${sql.raw(String(ms))}`.execute(
        trx,
      );
    }
    return missing.length > 0;
  });
}
