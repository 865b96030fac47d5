/**
 * The back office's actions, by their stable names: what an audit entry says was done. A mutating admin
 * route declares one of them; the log's readers filter on them, so a name never changes once written.
 */
export const AUDIT_ACTIONS = [
  'user.create',
  'product.create',
  'product.update',
  'coupon.create',
  'delivery.retry',
  'delivery.redeliver',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_TARGET_TYPES = ['user', 'product', 'coupon', 'delivery'] as const;
type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

/** The row an action changed, by the id the API shows for it elsewhere (a delivery's is its event id). */
export type AuditTarget =
  | { readonly type: Exclude<AuditTargetType, 'delivery'>; readonly id: number }
  | { readonly type: 'delivery'; readonly id: string };

/** A field's value as the log keeps it: JSON, instants as ISO 8601 strings. */
export type AuditValue = string | number | boolean | null;
export type AuditFields = Readonly<Record<string, AuditValue>>;

/** What changed: creates have no `before`; updates hold the changed fields only, on both sides. */
export interface AuditChange {
  readonly before: AuditFields | null;
  readonly after: AuditFields | null;
}

/** W3C trace ids: 32 lowercase hex digits, not all zero (the invalid id). */
export const TRACE_ID = /^(?!0{32}$)[0-9a-f]{32}$/;

/**
 * Which request an action came from: the route's action, its request id and its trace id (null without
 * tracing). The HTTP edge stamps each admin request; the shop's own processes stamp what they do with a
 * request id of their own (`seed-<uuid>`), so `requestId` is never missing.
 */
export interface AuditStamp {
  readonly action: AuditAction;
  readonly requestId: string;
  readonly traceId: string | null;
}

/** An entry as an action appends it; the store gives it its id and its instant (the database's clock). */
export interface NewAuditEntry extends AuditStamp, AuditChange {
  /** The admin who acted; null for the system (seeding, command-line tools). */
  readonly actorId: number | null;
  readonly target: AuditTarget;
}

export interface AuditEntry extends NewAuditEntry {
  readonly id: number;
  readonly at: Date;
}

/** A created row: nothing before, all of its fields after. */
export function created(fields: AuditFields): AuditChange {
  return { before: null, after: fields };
}

/** An update: only the fields whose value differs, as they were and as they are. */
export function changed(before: AuditFields, after: AuditFields): AuditChange {
  const keys = Object.keys(after).filter((key) => before[key] !== after[key]);
  return {
    before: Object.fromEntries(keys.map((key) => [key, before[key] ?? null])),
    after: Object.fromEntries(keys.map((key) => [key, after[key] ?? null])),
  };
}
