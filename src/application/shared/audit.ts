import type { AuditAction, AuditStamp, NewAuditEntry } from '../../domain/audit/audit-entry.js';
import type { Actor } from './actor.js';

/** Who and which request an entry names: everything of it but the row and its change. */
export type AuditHeader = Omit<NewAuditEntry, 'target' | 'before' | 'after'>;

/**
 * The header of the entry a use case appends for `action`, checked before anything is done: a stamp that
 * names another action means its route declared the wrong one, and the log would then lie.
 */
export function auditHeader(action: AuditAction, actor: Actor, stamp: AuditStamp): AuditHeader {
  if (stamp.action !== action) throw new Error(`A ${action} was stamped as ${stamp.action}: fix the route's audit.`);
  return {
    actorId: actor.role === 'SYSTEM' ? null : actor.userId,
    action,
    requestId: stamp.requestId,
    traceId: stamp.traceId,
  };
}
