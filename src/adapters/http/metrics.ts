import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CountedOperation, ShopMetrics } from '../prometheus/shop-metrics.js';
import { PROBLEM_CONTENT_TYPE, isProblemCode } from './problems.js';

/** The routes whose answers are counted as outcomes, by method and route pattern. */
const COUNTED_ROUTES: Readonly<Record<string, CountedOperation>> = {
  'POST /api/v1/orders': 'ORDER',
  'POST /api/v1/coupons/:couponId/issue': 'COUPON_ISSUE',
  'POST /api/v1/auth/login': 'LOGIN',
};

/** The problem code of an answer, when it is problem+json: only codes of the registry, so the label stays bounded. */
function problemCodeOf(reply: FastifyReply, payload: unknown): string | undefined {
  const type = reply.getHeader('content-type');
  if (typeof type !== 'string' || !type.startsWith(PROBLEM_CONTENT_TYPE) || typeof payload !== 'string')
    return undefined;
  try {
    const { code } = JSON.parse(payload) as { code?: unknown };
    return typeof code === 'string' && isProblemCode(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

/**
 * GET /metrics (Prometheus text), the request-duration histogram by route and status, and the outcomes of
 * placing an order, issuing a coupon and logging in, read from what each answered (its status and problem
 * code). A replayed Idempotency-Key answer did nothing new and is not counted again.
 */
export function registerMetrics(app: FastifyInstance, metrics: ShopMetrics): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const operation = COUNTED_ROUTES[`${request.method} ${routeOf(request)}`];
    if (operation && reply.getHeader('idempotent-replayed') === undefined)
      metrics.countOutcome(operation, reply.statusCode, problemCodeOf(reply, payload));
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, so ids don't explode the label set.
    metrics.observeRequest(
      { method: request.method, route: routeOf(request), status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', { schema: { hide: true }, config: { access: 'PUBLIC' } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.scrape());
  });
}
