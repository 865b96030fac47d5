import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GetDelivery, RedeliverEvent } from '../../../application/data-platform/delivery-operations.js';
import type { ListDeliveries } from '../../../application/data-platform/list-deliveries.js';
import type { RetryDelivery } from '../../../application/data-platform/retry-delivery.js';
import type { DeliveryDetail } from '../../../application/ports/data-platform.js';
import { DATA_PLATFORM_EVENT_TYPES, DELIVERY_STATUSES, type Delivery } from '../../../domain/data-platform/delivery.js';
import { auditStampOf } from '../audit.js';
import { actorOf } from '../auth.js';
import {
  commonErrors,
  iso,
  pageQuery,
  paginated,
  problemSchema,
  timestamp,
  toPageRequest,
  toPaginated,
} from '../schemas.js';

export interface DeliveryRoutesOptions {
  listDeliveries: ListDeliveries;
  retryDelivery: RetryDelivery;
  getDelivery: GetDelivery;
  redeliverEvent: RedeliverEvent;
}

const deliveryStatus = z.enum(DELIVERY_STATUSES);
const eventType = z
  .enum(DATA_PLATFORM_EVENT_TYPES)
  .describe('ORDER_PAID: a paid order (POST /orders); ORDER_CANCELLED: a cancellation (POST /orders/cancellations)');
const listQuery = pageQuery.extend({ status: deliveryStatus.optional(), type: eventType.optional() });
const eventIdParams = z.object({ eventId: z.guid().transform((id) => id.toLowerCase()) });

const deliveryView = z.object({
  eventId: z.guid(),
  type: eventType,
  orderId: z.number().int(),
  status: deliveryStatus,
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: timestamp.nullable().describe('When it is next due; null once DELIVERED or FAILED'),
  deliveredAt: timestamp.nullable(),
  waitingFor: z
    .guid()
    .nullable()
    .describe(
      'The eventId of the earlier event of the same order this one waits on (it is sent only after it); null when none',
    ),
});

const attemptView = z.object({
  attemptedAt: timestamp,
  outcome: z.enum(['DELIVERED', 'FAILED']),
  httpStatus: z
    .number()
    .int()
    .nullable()
    .describe("The platform's answer; null when there was none (a network error, a timeout)"),
  durationMs: z.number().int(),
  error: z.string().nullable(),
});

const deliveryDetailView = deliveryView.extend({
  payload: z.record(z.string(), z.unknown()).describe('The JSON body each attempt sends'),
  attempts: z.array(attemptView).describe('Oldest first, the last 20'),
});

const presentDelivery = (delivery: Delivery) => ({
  eventId: delivery.eventId,
  type: delivery.type,
  orderId: delivery.orderId,
  status: delivery.status,
  attempts: delivery.attempts,
  lastError: delivery.lastError,
  nextAttemptAt: iso(delivery.nextAttemptAt),
  deliveredAt: iso(delivery.deliveredAt),
  waitingFor: delivery.waitingFor,
});

const presentDetail = ({ delivery, payload, attempts }: DeliveryDetail) => ({
  ...presentDelivery(delivery),
  payload,
  attempts: attempts.map((attempt) => ({ ...attempt, attemptedAt: attempt.attemptedAt.toISOString() })),
});

export const deliveryRoutes: FastifyPluginAsyncZod<DeliveryRoutesOptions> = async (
  app,
  { listDeliveries, retryDelivery, getDelivery, redeliverEvent },
) => {
  const tags = ['Administration'];

  app.get(
    '/admin/data-platform/deliveries',
    {
      config: { access: 'ADMIN' },
      schema: { tags, querystring: listQuery, response: { 200: paginated(deliveryView), ...commonErrors } },
    },
    async (request) => {
      const { status, type, ...page } = request.query;
      const deliveries = await listDeliveries.execute({
        actor: actorOf(request),
        status,
        type,
        page: toPageRequest(page),
      });
      return toPaginated(deliveries, presentDelivery);
    },
  );

  app.post(
    '/admin/data-platform/deliveries/:eventId/retry',
    {
      config: { access: 'ADMIN', audit: 'delivery.retry' },
      schema: {
        tags,
        params: eventIdParams,
        response: {
          202: deliveryView.describe('Due now, attempts reset'),
          404: problemSchema,
          409: problemSchema,
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { eventId } = request.params;
      const delivery = await retryDelivery.execute({ actor: actorOf(request), eventId, audit: auditStampOf(request) });
      return reply.status(202).send(presentDelivery(delivery));
    },
  );

  app.get(
    '/admin/data-platform/deliveries/:eventId',
    {
      config: { access: 'ADMIN' },
      schema: {
        tags,
        params: eventIdParams,
        response: { 200: deliveryDetailView, 404: problemSchema, ...commonErrors },
      },
    },
    async (request) =>
      presentDetail(await getDelivery.execute({ actor: actorOf(request), eventId: request.params.eventId })),
  );

  app.post(
    '/admin/data-platform/deliveries/:eventId/redeliver',
    {
      config: { access: 'ADMIN', audit: 'delivery.redeliver' },
      schema: {
        tags,
        params: eventIdParams,
        response: {
          202: deliveryView.describe('Sent again, whatever its status, as soon as its order’s earlier events allow'),
          404: problemSchema,
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { eventId } = request.params;
      const delivery = await redeliverEvent.execute({ actor: actorOf(request), eventId, audit: auditStampOf(request) });
      return reply.status(202).send(presentDelivery(delivery));
    },
  );
};
