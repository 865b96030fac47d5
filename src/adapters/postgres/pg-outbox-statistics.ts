import { sql } from 'kysely';
import {
  BACKLOG_STATUSES,
  type BacklogStatus,
  type OutboxBacklog,
  type OutboxStatistics,
} from '../../application/ports/outbox-statistics.js';
import type { Db } from './database.js';

/**
 * One statement, a literal status in each part so the planner reads an index on status (the partial one of
 * PENDING rows, or (status, id)) and the cost follows the backlog, never the DELIVERED history, which only
 * grows and is never counted. No ORDER BY id LIMIT 1 for the oldest: with a large backlog the planner walks the
 * primary key from the first id instead, through every delivered row. Ages are by the database's clock.
 */
/**
 * PENDING rows an undelivered earlier event of their order holds back: every undelivered row but the first
 * of its order, in one pass over the undelivered rows by order (the index on them), not a probe per row.
 */
const heldBack = sql`(
  SELECT count(*) FROM (
    SELECT status, row_number() OVER (PARTITION BY order_id ORDER BY id) AS place
    FROM data_platform_outbox WHERE status <> 'DELIVERED') undelivered
  WHERE status = 'PENDING' AND place > 1)`;

export class PgOutboxStatistics implements OutboxStatistics {
  constructor(private readonly db: Db) {}

  async backlog(): Promise<OutboxBacklog[]> {
    const parts = BACKLOG_STATUSES.map(
      (status) => sql`
        SELECT ${sql.lit(status)} AS status, count(*) AS events,
          EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest_age_seconds,
          ${status === 'PENDING' ? heldBack : sql`0`} AS held_back
        FROM data_platform_outbox WHERE status = ${sql.lit(status)}`,
    );
    const { rows } = await sql<{
      status: BacklogStatus;
      events: number;
      oldest_age_seconds: number | null;
      held_back: number;
    }>`${sql.join(parts, sql` UNION ALL `)}`.execute(this.db);
    return BACKLOG_STATUSES.map((status) => {
      const row = rows.find((candidate) => candidate.status === status);
      return {
        status,
        events: row?.events ?? 0,
        oldestAgeSeconds: Math.max(0, row?.oldest_age_seconds ?? 0),
        heldBack: row?.held_back ?? 0,
      };
    });
  }
}
