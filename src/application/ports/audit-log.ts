import type { AuditAction, AuditEntry, NewAuditEntry } from '../../domain/audit/audit-entry.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Inside a unit of work: the admin action's entry, committed with its effect or not at all. */
export interface AuditLog {
  /** Appends the entry, dated by the store's clock (the database's now()), and returns its id. */
  append(entry: NewAuditEntry): Promise<number>;
}

export interface AuditLogFilter {
  readonly actorId?: number | undefined;
  readonly action?: AuditAction | undefined;
}

/** Reads: no transaction of their own (see "Reads" on UnitOfWork). */
export interface AuditLogQueries {
  /** Newest first; the page key is the entry's id. */
  list(filter: AuditLogFilter, page: PageRequest): Promise<Page<AuditEntry>>;
}
