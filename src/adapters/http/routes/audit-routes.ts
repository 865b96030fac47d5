import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ListAuditLog } from '../../../application/audit/list-audit-log.js';
import { AUDIT_ACTIONS, AUDIT_TARGET_TYPES, type AuditEntry } from '../../../domain/audit/audit-entry.js';
import { actorOf } from '../auth.js';
import { commonErrors, idParam, pageQuery, paginated, timestamp, toPageRequest, toPaginated } from '../schemas.js';

export interface AuditRoutesOptions {
  listAuditLog: ListAuditLog;
}

const listQuery = pageQuery.extend({
  actorId: idParam.optional().describe("Only this admin's actions"),
  action: z.enum(AUDIT_ACTIONS).optional(),
});

const fields = z
  .record(z.string(), z.unknown())
  .nullable()
  .describe('The changed fields: null before a creation; an update holds only what it changed');

export const auditEntryView = z.object({
  id: z.number().int(),
  at: timestamp.describe("When it was written, by the database's clock"),
  actorId: z.number().int().nullable().describe('The admin who acted; null for the shop itself (seeding, tools)'),
  action: z.string().describe('A stable name such as product.update'),
  target: z.discriminatedUnion('type', [
    z.object({ type: z.enum(AUDIT_TARGET_TYPES).exclude(['delivery']), id: z.number().int() }),
    z.object({ type: z.literal('delivery'), id: z.guid().describe('The delivery’s eventId') }),
  ]),
  before: fields,
  after: fields,
  requestId: z.string().describe('The X-Request-Id the action was answered with'),
  traceId: z.string().nullable().describe('Its OpenTelemetry trace id; null when tracing is off'),
});

const presentEntry = ({ id, at, actorId, action, target, before, after, requestId, traceId }: AuditEntry) => ({
  id,
  at: at.toISOString(),
  actorId,
  action,
  target,
  before,
  after,
  requestId,
  traceId,
});

export const auditRoutes: FastifyPluginAsyncZod<AuditRoutesOptions> = async (app, { listAuditLog }) => {
  app.get(
    '/admin/audit-log',
    {
      config: { access: 'ADMIN' },
      schema: {
        tags: ['Administration'],
        description:
          'Every admin action, written in the transaction of its effect: newest first, append-only. ' +
          'Filter by the admin who acted and by action.',
        querystring: listQuery,
        response: { 200: paginated(auditEntryView), ...commonErrors },
      },
    },
    async (request) => {
      const { actorId, action, ...page } = request.query;
      const entries = await listAuditLog.execute({
        actor: actorOf(request),
        actorId,
        action,
        page: toPageRequest(page),
      });
      return toPaginated(entries, presentEntry);
    },
  );
};
