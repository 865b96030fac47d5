import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import type { Authenticate } from '../../application/auth/authenticate.js';
import { type Access, BEARER_SCHEME, installAccessControl } from './auth.js';
import { type AuthRoutesOptions, authRoutes } from './routes/auth-routes.js';
import {
  type ZodTypeProvider,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { type UnavailabilityTest, errorHandler, notFoundHandler } from './error-handler.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problems.js';
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
import { BODY_LIMIT_BYTES } from './schemas.js';

const API_PREFIX = '/api/v1';

/** What the HTTP edge needs: the use cases it exposes and a readiness probe. Nothing else. */
export type AppDependencies = BalanceRoutesOptions &
  UserRoutesOptions &
  ProductRoutesOptions &
  CouponRoutesOptions &
  OrderRoutesOptions &
  DeliveryRoutesOptions &
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
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app, in registration order. */
    readonly routeTable: () => RouteEntry[];
  }
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
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? problem('REQUEST_TIMEOUT', 'The request did not arrive in time.')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? problem('INVALID_REQUEST', 'The request headers are too large.', {
            errors: [{ path: '', message: 'headers too large' }],
          })
        : problem('INVALID_REQUEST', 'The request is not valid HTTP.', {
            errors: [{ path: '', message: 'malformed HTTP request' }],
          }),
  );
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

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
  // Once closing, every answer ends its connection: a keep-alive connection whose request was in flight at
  // the close would otherwise stay open (Node closes only the idle ones) and hold the shutdown until the
  // client let go, and one that kept sending requests would hold it for ever.
  let closing = false;
  app.addHook('preClose', async () => void (closing = true));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    // An answer given before its request's body was all read (a 415, a 413, a refusal before the body):
    // the rest of that body is still on the connection, where nothing would read it and it would hold up
    // the next request on it for ever. It is read and dropped instead, as Node does with a body nobody
    // started reading, and the connection goes on. Closing it instead would reset a client still sending
    // (the data left unread), which could lose the answer; a body that never ends is cut off by the
    // request timeout.
    if (!request.raw.complete) {
      request.raw.unpipe();
      request.raw.resume();
    }
  });
  // Node's requestTimeout covers the headers; a body that drips in after them is cut off here: the body
  // Fastify reads is a pass-through of the socket's, failed with a 408 when the deadline passes (failing the
  // socket's own stream would drop the connection without an answer).
  app.addHook('preParsing', async (request, _reply, payload) => {
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
    if ((length === undefined || length === '0') && encoding === undefined) return payload; // no body to wait for
    const body = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
    payload.on('data', (chunk: Buffer) => (body.receivedEncodedLength += chunk.length));
    payload.pipe(body);
    const timer = setTimeout(() => {
      payload.unpipe(body);
      body.destroy(Object.assign(new Error('The request body did not arrive in time.'), { statusCode: 408 }));
    }, requestTimeoutMs);
    // The deadline is for the request's arrival: once the socket's stream has ended it no longer applies,
    // whether or not anything reads the body (a GET's empty one, a route that answers without it).
    payload.once('end', () => clearTimeout(timer));
    body.once('close', () => clearTimeout(timer));
    // Failed after its request was answered, nobody listens any more; that must not end the process.
    body.on('error', () => undefined);
    return body;
  });

  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  app.decorate('routeTable', () =>
    routes
      .filter((route) => route.method !== 'HEAD')
      .map((route) => ({ method: String(route.method), url: route.url, access: route.config?.access })),
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
      },
      { prefix: API_PREFIX },
    );
  });
  await app.ready();
  return app;
}
