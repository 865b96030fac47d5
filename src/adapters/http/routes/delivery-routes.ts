import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ListDeliveries } from '../../../application/data-platform/list-deliveries.js';
import type { RetryDelivery } from '../../../application/data-platform/retry-delivery.js';
import { DATA_PLATFORM_EVENT_TYPES, DELIVERY_STATUSES, type Delivery } from '../../../domain/data-platform/delivery.js';
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
});

export const deliveryRoutes: FastifyPluginAsyncZod<DeliveryRoutesOptions> = async (
  app,
  { listDeliveries, retryDelivery },
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
      config: { access: 'ADMIN' },
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
      const delivery = await retryDelivery.execute({ actor: actorOf(request), eventId: request.params.eventId });
      return reply.status(202).send(presentDelivery(delivery));
    },
  );
};
