import type { AuditAction, AuditEntry } from '../../domain/audit/audit-entry.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { AuditLogQueries } from '../ports/audit-log.js';

export interface ListAuditLogInput {
  readonly actor: Actor;
  readonly actorId?: number | undefined;
  readonly action?: AuditAction | undefined;
  readonly page: PageRequest;
}

/** The back office's audit log, newest first, for administrators only. */
export class ListAuditLog {
  constructor(private readonly log: AuditLogQueries) {}

  async execute({ actor, actorId, action, page }: ListAuditLogInput): Promise<Page<AuditEntry>> {
    assertAdmin(actor);
    return this.log.list({ actorId, action }, page);
  }
}
