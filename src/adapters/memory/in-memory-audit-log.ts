import type { AuditLog, AuditLogFilter, AuditLogQueries } from '../../application/ports/audit-log.js';
import type { Clock } from '../../application/ports/clock.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import type { AuditEntry, NewAuditEntry } from '../../domain/audit/audit-entry.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The audit_log table in memory: entries in id order, each dated by the clock that stands in for now(). */
export class InMemoryAuditLog implements AuditLog, AuditLogQueries {
  constructor(
    private readonly store: InMemoryStore,
    private readonly clock: Clock,
  ) {}

  async append(entry: NewAuditEntry): Promise<number> {
    const id = this.store.nextId('auditLog');
    this.store.state.auditLog.push(structuredClone({ ...entry, id, at: this.clock.now() }));
    return id;
  }

  async list({ actorId, action }: AuditLogFilter, { limit, after }: PageRequest): Promise<Page<AuditEntry>> {
    const rows = this.store.state.auditLog
      .filter(
        (entry) =>
          (actorId === undefined || entry.actorId === actorId) &&
          (action === undefined || entry.action === action) &&
          (after === undefined || entry.id < after),
      )
      .reverse()
      .slice(0, limit + 1)
      .map((entry) => structuredClone(entry));
    return pageFrom(rows, limit, (entry) => entry.id);
  }
}
