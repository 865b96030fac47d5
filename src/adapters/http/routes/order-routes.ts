import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RunIdempotently } from '../../../application/idempotency/run-idempotently.js';
import type { GetOrder } from '../../../application/order/get-order.js';
import type { ListUserOrders } from '../../../application/order/list-user-orders.js';
import type { PlaceOrder } from '../../../application/order/place-order.js';
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, ORDER_STATUSES, type Order } from '../../../domain/order/order.js';
import { actorOf } from '../auth.js';
import { idempotencyHeaders, replyIdempotently } from '../idempotency.js';
import {
  commonErrors,
  idParam,
  idValue,
  pageQuery,
  paginated,
  problemSchema,
  timestamp,
  toPageRequest,
  toPaginated,
  userIdParams,
} from '../schemas.js';

export interface OrderRoutesOptions {
  placeOrder: PlaceOrder;
  getOrder: GetOrder;
  listUserOrders: ListUserOrders;
  runIdempotently: RunIdempotently;
}

const placeOrderBody = z
  .strictObject({
    userId: idValue,
    items: z
      .array(z.strictObject({ productId: idValue, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY) }))
      .min(1)
      .max(MAX_ORDER_LINES),
    userCouponId: idValue.optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<number>();
    body.items.forEach((item, index) => {
      if (seen.has(item.productId))
        ctx.addIssue({
          code: 'custom',
          path: ['items', index, 'productId'],
          message: 'appears on another line; one line per product',
        });
      seen.add(item.productId);
    });
  });

export const orderView = z.object({
  orderId: z.number().int(),
  userId: z.number().int(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(
    z.object({
      productId: z.number().int(),
      name: z.string(),
      quantity: z.number().int(),
      unitPrice: z.number().int(),
      amount: z.number().int(),
    }),
  ),
  totalAmount: z.number().int(),
  discountAmount: z.number().int(),
  paidAmount: z.number().int(),
  userCouponId: z.number().int().nullable(),
  createdAt: timestamp,
});

const presentOrder = (order: Order) => ({
  orderId: order.id,
  userId: order.userId,
  status: order.status,
  items: order.lines.map(({ productId, name, quantity, unitPrice, amount }) => ({
    productId,
    name,
    quantity,
    unitPrice,
    amount,
  })),
  totalAmount: order.totalAmount,
  discountAmount: order.discountAmount,
  paidAmount: order.paidAmount,
  userCouponId: order.userCouponId,
  createdAt: order.createdAt.toISOString(),
});

export const orderRoutes: FastifyPluginAsyncZod<OrderRoutesOptions> = async (
  app,
  { placeOrder, getOrder, listUserOrders, runIdempotently },
) => {
  const tags = ['Orders'];

  app.post(
    '/orders',
    {
      schema: {
        tags,
        headers: idempotencyHeaders,
        body: placeOrderBody,
        response: { 201: orderView, 404: problemSchema, 409: problemSchema, 422: problemSchema, ...commonErrors },
      },
    },
    async (request, reply) =>
      replyIdempotently(request, reply, { runIdempotently, status: 201 }, async () =>
        presentOrder(await placeOrder.execute({ actor: actorOf(request), ...request.body })),
      ),
  );

  app.get(
    '/orders/:orderId',
    {
      schema: {
        tags,
        params: z.object({ orderId: idParam }),
        response: { 200: orderView, 404: problemSchema, ...commonErrors },
      },
    },
    async (request) =>
      presentOrder(await getOrder.execute({ actor: actorOf(request), orderId: request.params.orderId })),
  );

  app.get(
    '/users/:userId/orders',
    {
      schema: {
        tags,
        params: userIdParams,
        querystring: pageQuery,
        response: { 200: paginated(orderView), 404: problemSchema, ...commonErrors },
      },
    },
    async (request) =>
      toPaginated(
        await listUserOrders.execute({
          actor: actorOf(request),
          userId: request.params.userId,
          page: toPageRequest(request.query),
        }),
        presentOrder,
      ),
  );
};
