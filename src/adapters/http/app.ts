import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  type ZodTypeProvider,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { type UnavailabilityTest, errorHandler, notFoundHandler } from './error-handler.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problems.js';
import { registerMetrics } from './metrics.js';
import { type UserRoutesOptions, userRoutes } from './routes/user-routes.js';
import { type BalanceRoutesOptions, balanceRoutes } from './routes/balance-routes.js';
import { type CouponRoutesOptions, couponRoutes } from './routes/coupon-routes.js';
import { type ProductRoutesOptions, productRoutes } from './routes/product-routes.js';
import { type OperationalRoutesOptions, operationalRoutes } from './routes/operational-routes.js';
import { type OrderRoutesOptions, orderRoutes } from './routes/order-routes.js';
import { type DeliveryRoutesOptions, deliveryRoutes } from './routes/delivery-routes.js';
import { BODY_LIMIT_BYTES } from './schemas.js';

const API_PREFIX = '/api/v1';

/** What the HTTP edge needs: the use cases it exposes and a readiness probe. Nothing else. */
export type AppDependencies = BalanceRoutesOptions &
  UserRoutesOptions &
  ProductRoutesOptions &
  CouponRoutesOptions &
  OrderRoutesOptions &
  DeliveryRoutesOptions &
  OperationalRoutesOptions;

export interface AppOptions {
  /** Without one the app logs nothing (tests). */
  logger?: FastifyBaseLogger;
  /** Which unexpected errors mean the database is unreachable (answered 503 with Retry-After). */
  isUnavailable?: UnavailabilityTest;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

function answerRefusedUrl(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const body = problem('INVALID_REQUEST', error.message, { errors: [{ path: '', message: error.message }] });
  void reply
    .status(400)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, requestId: request.id });
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a control character in a header, a
 * broken request line) still get a problem+json 400, written straight to the socket.
 */
function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const body = JSON.stringify(
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem('INVALID_REQUEST', 'The request headers are too large.', {
          errors: [{ path: '', message: 'headers too large' }],
        })
      : problem('INVALID_REQUEST', 'The request is not valid HTTP.', {
          errors: [{ path: '', message: 'malformed HTTP request' }],
        }),
  );
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function buildApp(
  deps: AppDependencies,
  { logger, isUnavailable = () => false }: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A caller's X-Request-Id is kept when it is sane, so one id follows a request across services.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // While closing, requests already on open connections are still served: the pool closes only after.
    return503OnClosing: false,
    // A URL the router itself refuses (bad percent-encoding, a path segment past maxParamLength) is the
    // request's fault like any other: a 400 problem, not Fastify's own JSON.
    frameworkErrors: answerRefusedUrl,
    clientErrorHandler: answerMalformedRequest,
    // Long enough that an over-long id reaches the schema and is reported against its own path.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1_000 },
  }).withTypeProvider<ZodTypeProvider>();

  // JSON only: a text/plain body is 415, not a string the validators then puzzle over.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler(isUnavailable));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Shop API',
        version: '1.0.0',
        description:
          'Prepaid balance, products, first-come-first-served coupons and orders. Errors are RFC 9457 problem details.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerMetrics(app);
  await app.register(operationalRoutes, deps);
  await app.register(
    async (api) => {
      await api.register(balanceRoutes, deps);
      await api.register(userRoutes, deps);
      await api.register(productRoutes, deps);
      await api.register(couponRoutes, deps);
      await api.register(orderRoutes, deps);
      await api.register(deliveryRoutes, deps);
    },
    { prefix: API_PREFIX },
  );
  await app.ready();
  return app;
}
