import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Authenticate } from '../../application/auth/authenticate.js';
import { type Access, BEARER_SCHEME, installAccessControl } from './auth.js';
import { requireAuditActions } from './audit.js';
import type { AuditAction } from '../../domain/audit/audit-entry.js';
import { type AuthRoutesOptions, authRoutes } from './routes/auth-routes.js';
import {
  type ZodTypeProvider,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { type UnavailabilityTest, errorHandler, notFoundHandler } from './error-handler.js';
import { answerMalformedRequest, answerRefusedUrl, keepConnectionsClean } from './connection-hygiene.js';
import { registerMetrics } from './metrics.js';
import { addSecurityHeaders } from './security-headers.js';
import type { ShopMetrics } from '../prometheus/shop-metrics.js';
import { type UserRoutesOptions, userRoutes } from './routes/user-routes.js';
import { type BalanceRoutesOptions, balanceRoutes } from './routes/balance-routes.js';
import { type CouponRoutesOptions, couponRoutes } from './routes/coupon-routes.js';
import { type ProductRoutesOptions, productRoutes } from './routes/product-routes.js';
import { type OperationalRoutesOptions, operationalRoutes } from './routes/operational-routes.js';
import { type OrderRoutesOptions, orderRoutes } from './routes/order-routes.js';
import { type DeliveryRoutesOptions, deliveryRoutes } from './routes/delivery-routes.js';
import { type AuditRoutesOptions, auditRoutes } from './routes/audit-routes.js';
import { BODY_LIMIT_BYTES } from './schemas.js';

const API_PREFIX = '/api/v1';

/** What the HTTP edge needs: the use cases it exposes and a readiness probe. Nothing else. */
export type AppDependencies = BalanceRoutesOptions &
  UserRoutesOptions &
  ProductRoutesOptions &
  CouponRoutesOptions &
  OrderRoutesOptions &
  DeliveryRoutesOptions &
  AuditRoutesOptions &
  OperationalRoutesOptions &
  AuthRoutesOptions & {
    /** Turns a bearer token into the actor a request acts for. */
    authenticate: Authenticate;
    /** What GET /metrics serves; the app counts requests and outcomes into it. */
    metrics: ShopMetrics;
  };

export interface AppOptions {
  /** Without one the app logs nothing (tests). */
  logger?: FastifyBaseLogger;
  /** Which unexpected errors mean the database is unreachable (answered 503 with Retry-After). */
  isUnavailable?: UnavailabilityTest;
  /** Origins a browser may call the API from (CORS_ORIGINS). None: CORS stays closed. */
  corsOrigins?: readonly string[];
  /** How long a request may take to arrive, headers and body (HTTP_REQUEST_TIMEOUT_MS): 408 past it. */
  requestTimeoutMs?: number;
  /** How long a socket may sit idle (HTTP_CONNECTION_TIMEOUT_MS); longer than keep-alive's 72 s. */
  connectionTimeoutMs?: number;
  /**
   * The proxies whose X-Forwarded-For names the client (TRUST_PROXY): a hop count or their addresses and
   * CIDRs. Unset: the connection's address is the client's, whatever the header says.
   */
  trustProxy?: number | readonly string[];
}

/** A route of the app as the access table records it: what the route-matrix test walks. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** Undefined for the routes of plugins outside access control (the docs): public by where they live. */
  readonly access: Access | undefined;
  /** The action a mutating admin route's requests are audited as; undefined on every other route. */
  readonly audit: AuditAction | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app, in registration order. */
    readonly routeTable: () => RouteEntry[];
  }
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Fastify's own hop count trusts no hop at all (it can't check the immediate peer), so a count is given as
 * the function it stands for: the first `hops` addresses back from the socket are proxies. That is right
 * only where every connection comes through them, as the README says.
 */
function trustedHops(trustProxy: number | readonly string[]): string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return [...trustProxy];
  return (_address, hop) => hop < trustProxy;
}

export async function buildApp(
  deps: AppDependencies,
  {
    logger,
    isUnavailable = () => false,
    corsOrigins = [],
    requestTimeoutMs = 30_000,
    connectionTimeoutMs = 75_000,
    trustProxy,
  }: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
    ...(trustProxy === undefined ? {} : { trustProxy: trustedHops(trustProxy) }),
    // A request that drips in (or stalls) is cut off instead of holding a socket forever. Node checks the
    // deadline every connectionsCheckingInterval (30 s by default): a fraction of the timeout keeps it tight.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    http: { connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 3))) },
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
  app.addHook('onSend', async (request, reply) => void reply.header('x-request-id', request.id));
  keepConnectionsClean(app, requestTimeoutMs);

  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  app.decorate('routeTable', () =>
    routes
      .filter((route) => route.method !== 'HEAD')
      .map((route) => ({
        method: String(route.method),
        url: route.url,
        access: route.config?.access,
        audit: route.config?.audit,
      })),
  );

  addSecurityHeaders(app, {
    // Swagger UI's page loads its own scripts and styles; nothing else of this service is HTML.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        // The demo runs on plain http://; upgrading its requests to https would break Swagger UI there.
        upgradeInsecureRequests: null,
      },
    },
  });
  if (corsOrigins.length > 0)
    await app.register(cors, {
      origin: [...corsOrigins],
      methods: ['GET', 'POST', 'PATCH'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: ['idempotent-replayed', 'retry-after', 'www-authenticate', 'x-request-id'],
      maxAge: 600,
    });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Shop API',
        version: '1.0.0',
        description:
          'Prepaid balance, products, first-come-first-served coupons and orders. Errors are RFC 9457 problem ' +
          'details. Log in with POST /api/v1/auth/login, then "Authorize" with the accessToken.',
      },
      components: {
        securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerMetrics(app, deps.metrics);
  // Everything the service itself serves is under access control: a route that declares nothing needs a token.
  await app.register(async (served) => {
    installAccessControl(served, deps.authenticate);
    requireAuditActions(served);
    await served.register(operationalRoutes, deps);
    await served.register(
      async (api) => {
        await api.register(authRoutes, deps);
        await api.register(balanceRoutes, deps);
        await api.register(userRoutes, deps);
        await api.register(productRoutes, deps);
        await api.register(couponRoutes, deps);
        await api.register(orderRoutes, deps);
        await api.register(deliveryRoutes, deps);
        await api.register(auditRoutes, deps);
      },
      { prefix: API_PREFIX },
    );
  });
  await app.ready();
  return app;
}
