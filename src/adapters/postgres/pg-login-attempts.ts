import { sql } from 'kysely';
import type {
  LoginAttemptKey,
  LoginAttemptLimits,
  LoginAttempts,
  LoginSlot,
} from '../../application/ports/login-attempts.js';
import type { Db } from './database.js';

/**
 * Login attempts in one table every instance shares, timed by the database's clock (so instances whose
 * clocks differ still count one window), keyed by `lower(email)`: the very function the account lookup and
 * the unique index use, so every spelling that finds an account counts against that account's limit. A
 * transaction-scoped advisory lock per email (not per address: the limit across addresses needs every
 * attempt for the email in one queue) makes "count, then insert" one step; it is held for two short
 * statements, never while a password is hashed.
 */
export class PgLoginAttempts implements LoginAttempts {
  constructor(private readonly db: Db) {}

  reserve(
    { email, clientAddress }: LoginAttemptKey,
    { perAddress, allAddresses }: LoginAttemptLimits,
    windowMs: number,
  ): Promise<LoginSlot> {
    const window = sql`make_interval(secs => ${windowMs / 1000})`;
    const emailKey = sql<string>`lower(${email})`;
    // How long until the `limit`-th latest attempt of the selection leaves the window (null: fewer than
    // `limit` in it), by the database's clock: a full budget is free again once that attempt has left.
    const limitLeavesInMs = (fromAddress: boolean, limit: number) => sql<number | null>`(
      SELECT extract(epoch FROM (attempted_at + ${window} - now())) * 1000
      FROM login_attempts
      WHERE email_key = ${emailKey} AND attempted_at > now() - ${window}
        ${fromAddress ? sql`AND client_address = ${clientAddress}` : sql``}
      ORDER BY attempted_at DESC
      OFFSET ${limit - 1} LIMIT 1)`;
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended('login:' || ${emailKey}, 0))`.execute(trx);
      const { rows } = await sql<{ address: number | null; all: number | null }>`
        SELECT ${limitLeavesInMs(true, perAddress)} AS address, ${limitLeavesInMs(false, allAddresses)} AS all`.execute(
        trx,
      );
      const waits = [rows[0]!.address, rows[0]!.all].filter((wait) => wait !== null).map(Number);
      if (waits.length > 0) return { granted: false, retryAfterMs: Math.max(0, ...waits) };
      const row = await trx
        .insertInto('login_attempts')
        .values({ email_key: emailKey, client_address: clientAddress })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { granted: true, attemptId: row.id };
    });
  }

  async forget(attemptId: number): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('id', '=', attemptId).execute();
  }

  async purge(windowMs: number): Promise<number> {
    const result = await this.db
      .deleteFrom('login_attempts')
      .where('attempted_at', '<', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
