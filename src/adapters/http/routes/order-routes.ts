import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RunIdempotently } from '../../../application/idempotency/run-idempotently.js';
import type { CancelOrder } from '../../../application/order/cancel-order.js';
import type { GetOrder } from '../../../application/order/get-order.js';
import type { ListUserOrders } from '../../../application/order/list-user-orders.js';
import type { PlaceOrder } from '../../../application/order/place-order.js';
import {
  MAX_LINE_QUANTITY,
  MAX_ORDER_LINES,
  ONE_LINE_PER_PRODUCT,
  ORDER_STATUSES,
  type Order,
  repeatedProductLine,
} from '../../../domain/order/order.js';
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
  cancelOrder: CancelOrder;
  getOrder: GetOrder;
  listUserOrders: ListUserOrders;
  runIdempotently: RunIdempotently;
}

/** The domain's rule, reported as a 400 on the line that breaks it. */
function oneLinePerProduct(body: { items?: readonly { productId: number }[] | undefined }, ctx: z.RefinementCtx) {
  const index = body.items && repeatedProductLine(body.items);
  if (index !== undefined)
    ctx.addIssue({ code: 'custom', path: ['items', index, 'productId'], message: ONE_LINE_PER_PRODUCT });
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
  .superRefine(oneLinePerProduct);

/** Without items, everything not yet cancelled. The quantity's upper bound is the line's own: a 409, not a 400. */
const cancelOrderBody = z
  .strictObject({
    items: z
      .array(z.strictObject({ productId: idValue, quantity: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }))
      .min(1)
      .max(MAX_ORDER_LINES)
      .optional(),
  })
  .superRefine(oneLinePerProduct);

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
      cancelledQuantity: z.number().int(),
    }),
  ),
  totalAmount: z.number().int(),
  discountAmount: z.number().int(),
  paidAmount: z.number().int(),
  refundedAmount: z.number().int(),
  userCouponId: z.number().int().nullable(),
  createdAt: timestamp,
  cancelledAt: timestamp.nullable(),
});

const presentOrder = (order: Order) => ({
  orderId: order.id,
  userId: order.userId,
  status: order.status,
  items: order.lineViews.map(({ productId, name, quantity, unitPrice, amount, cancelledQuantity }) => ({
    productId,
    name,
    quantity,
    unitPrice,
    amount,
    cancelledQuantity,
  })),
  totalAmount: order.totalAmount,
  discountAmount: order.discountAmount,
  paidAmount: order.paidAmount,
  refundedAmount: order.refundedAmount,
  userCouponId: order.userCouponId,
  createdAt: order.createdAt.toISOString(),
  cancelledAt: order.cancelledAt?.toISOString() ?? null,
});

export const orderRoutes: FastifyPluginAsyncZod<OrderRoutesOptions> = async (
  app,
  { placeOrder, cancelOrder, getOrder, listUserOrders, runIdempotently },
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

  app.post(
    '/orders/:orderId/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel an order in full or in part, with a refund to the balance',
        description:
          "Without items, everything not yet cancelled. The refund is cumulative: floor(paidAmount · C / totalAmount) in all, where C is the gross value of every unit cancelled so far. The order's user or an admin may cancel.",
        headers: idempotencyHeaders,
        params: z.object({ orderId: idParam }),
        // No body at all (or JSON null) cancels everything left, as `{}` does.
        body: cancelOrderBody.nullish(),
        response: { 200: orderView, 404: problemSchema, 409: problemSchema, 422: problemSchema, ...commonErrors },
      },
    },
    async (request, reply) =>
      replyIdempotently(request, reply, { runIdempotently, status: 200 }, async () =>
        presentOrder(
          await cancelOrder.execute({
            actor: actorOf(request),
            orderId: request.params.orderId,
            items: request.body?.items,
          }),
        ),
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
