import { type Selectable, sql } from 'kysely';
import type { AuditLog, AuditLogFilter, AuditLogQueries } from '../../application/ports/audit-log.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import type { AuditEntry, NewAuditEntry } from '../../domain/audit/audit-entry.js';
import type { Db } from './database.js';
import { readerFor } from './pg-transaction-context.js';
import type { AuditLogTable } from './tables.js';

const toEntry = (row: Selectable<AuditLogTable>): AuditEntry => ({
  id: row.id,
  at: row.at,
  actorId: row.actor_id,
  action: row.action,
  target: row.target,
  before: row.before,
  after: row.after,
  requestId: row.request_id,
  traceId: row.trace_id,
});

const json = (value: object | null) => (value === null ? null : JSON.stringify(value));

export class PgAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  /** Dated by the database's now(), the transaction's start, whatever the caller's clock says. */
  async append(entry: NewAuditEntry): Promise<number> {
    const row = await this.db
      .insertInto('audit_log')
      .values({
        at: sql<Date>`now()`,
        actor_id: entry.actorId,
        action: entry.action,
        target: JSON.stringify(entry.target),
        before: json(entry.before),
        after: json(entry.after),
        request_id: entry.requestId,
        trace_id: entry.traceId,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }
}

export class PgAuditLogQueries implements AuditLogQueries {
  constructor(private readonly pool: Db) {}

  /** On the open unit of work's connection when there is one (see the ports' note on reads), else the pool. */
  private get db(): Db {
    return readerFor(this.pool);
  }

  async list({ actorId, action }: AuditLogFilter, { limit, after }: PageRequest): Promise<Page<AuditEntry>> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (actorId !== undefined) query = query.where('actor_id', '=', actorId);
    if (action !== undefined) query = query.where('action', '=', action);
    if (after !== undefined) query = query.where('id', '<', after);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return pageFrom(rows.map(toEntry), limit, (entry) => entry.id);
  }
}
