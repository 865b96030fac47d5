import { sql } from 'kysely';
import type { ClientRequestCount, ClientRequestCounter } from '../../application/ports/client-request-counter.js';
import type { Db } from './database.js';

/**
 * One row per client address in a table every instance shares, timed by the database's clock. Counting is
 * one upsert outside any transaction: the row is locked only for that statement, never while a password is
 * hashed, and concurrent requests of one address queue on it for microseconds, so none goes uncounted.
 */
export class PgClientRequestCounter implements ClientRequestCounter {
  constructor(private readonly db: Db) {}

  async count(clientAddress: string, windowMs: number): Promise<ClientRequestCount> {
    const window = sql`make_interval(secs => ${windowMs / 1000})`;
    // A window that has ended starts again at this request; SET reads the row as it was before.
    const { rows } = await sql<{ count: string; ends_in_ms: number }>`
      INSERT INTO client_rate_limits AS c (client_address, window_start, count)
      VALUES (${clientAddress}, now(), 1)
      ON CONFLICT (client_address) DO UPDATE SET
        window_start = CASE WHEN c.window_start > now() - ${window} THEN c.window_start ELSE now() END,
        count = CASE WHEN c.window_start > now() - ${window} THEN c.count + 1 ELSE 1 END
      RETURNING count, extract(epoch FROM (window_start + ${window} - now())) * 1000 AS ends_in_ms`.execute(this.db);
    const row = rows[0]!;
    return { count: Number(row.count), windowEndsInMs: Math.max(0, Number(row.ends_in_ms)) };
  }

  async purge(windowMs: number): Promise<number> {
    const result = await this.db
      .deleteFrom('client_rate_limits')
      .where('window_start', '<=', sql<Date>`now() - make_interval(secs => ${windowMs / 1000})`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
