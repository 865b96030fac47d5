import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AuditAction, type AuditStamp, TRACE_ID } from '../../domain/audit/audit-entry.js';
import { currentTraceId } from '../tracing/trace-context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action a mutating admin route's requests are audited as (see `requireAuditActions`). */
    audit?: AuditAction;
  }
}

const READS = new Set(['GET', 'HEAD']);
/** The back office's routes, with or without the API's version prefix. */
const ADMIN_PATH = /^(\/api\/v\d+)?\/admin(\/|$)/;

/**
 * Every admin route that changes something declares the action its requests are audited as, `config: {
 * access: 'ADMIN', audit: 'product.update' }`: a route that does not stops the app from starting, so a new
 * admin route cannot be forgotten by the audit log. So does a route under /admin/ not declared for ADMIN,
 * which would otherwise escape both the administrators' check and the log. Registered after access control,
 * which sets `access`.
 */
export function requireAuditActions(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (ADMIN_PATH.test(route.url) && route.config?.access !== 'ADMIN')
      throw new Error(`${route.url} is under /admin/: declare it for ADMIN (config.access).`);
    const methods = [route.method].flat();
    const changes = methods.some((method) => !READS.has(method));
    if (route.config?.access === 'ADMIN' && changes && route.config.audit === undefined) {
      throw new Error(`${methods.join(',')} ${route.url} is an admin action: declare its config.audit action.`);
    }
  });
}

/** The audit stamp of a request to a route that declares its action: its request id and trace id. */
export function auditStampOf(request: FastifyRequest): AuditStamp {
  const action = request.routeOptions.config.audit;
  if (action === undefined) throw new Error(`${request.routeOptions.url ?? request.url} declares no audit action.`);
  const traceId = currentTraceId();
  return { action, requestId: request.id, traceId: traceId !== null && TRACE_ID.test(traceId) ? traceId : null };
}
