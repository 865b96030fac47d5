import { sql } from 'kysely';
import type { LoginAttempts, LoginSlot } from '../../application/ports/login-attempts.js';
import type { Db } from './database.js';

/**
 * Login attempts in one table every instance shares, timed by the database's clock (so instances whose
 * clocks differ still count one window), keyed by `lower(email)`: the very function the account lookup and
 * the unique index use, so every spelling that finds an account counts against that account's limit. A transaction-scoped advisory lock per email makes "count, then
 * insert" one step; it is held for two short statements, never while a password is hashed.
 */
export class PgLoginAttempts implements LoginAttempts {
  constructor(private readonly db: Db) {}

  reserve(email: string, limit: number, windowMs: number): Promise<LoginSlot> {
    const window = sql`make_interval(secs => ${windowMs / 1000})`;
    const emailKey = sql<string>`lower(${email})`;
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended('login:' || ${emailKey}, 0))`.execute(trx);
      // Each recent attempt with how long until it leaves the window, by the database's clock.
      const recent = await trx
        .selectFrom('login_attempts')
        .select(sql<number>`extract(epoch FROM (attempted_at + ${window} - now())) * 1000`.as('leaves_in_ms'))
        .where('email_key', '=', emailKey)
        .where('attempted_at', '>', sql<Date>`now() - ${window}`)
        .orderBy('attempted_at', 'desc')
        .limit(limit)
        .execute();
      // The window has passed once the oldest of the last `limit` attempts has left it.
      if (recent.length >= limit)
        return { granted: false, retryAfterMs: Math.max(0, Number(recent[limit - 1]!.leaves_in_ms)) };
      const row = await trx
        .insertInto('login_attempts')
        .values({ email_key: emailKey })
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
