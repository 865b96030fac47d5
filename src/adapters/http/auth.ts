import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticate } from '../../application/auth/authenticate.js';
import { type Actor, assertAdmin, assertMayActFor } from '../../application/shared/actor.js';
import { UnauthenticatedError } from '../../domain/account/account-errors.js';
import { problemSchema } from './schemas.js';

/**
 * Who may call a route, declared on the route as `config: { access }`:
 * - PUBLIC: anyone, no token looked at;
 * - SIGNED_IN: a valid bearer token (the default: a route that declares nothing needs one);
 * - ADMIN: a valid token of an ADMIN.
 * The same declaration gives the route its OpenAPI `security`, so the documentation cannot disagree.
 */
export const ACCESS_LEVELS = ['PUBLIC', 'SIGNED_IN', 'ADMIN'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Set by the access hook on every route that is not PUBLIC. */
    actor?: Actor;
  }
}

/** The OpenAPI security scheme every non-public route names. */
export const BEARER_SCHEME = 'bearerAuth';

// RFC 6750's b64token: the characters a JWT (or any bearer token) may hold.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

const accessOf = (request: FastifyRequest): Access => request.routeOptions.config.access ?? 'SIGNED_IN';

/** The actor the access hook resolved; only PUBLIC routes have none, and they must not ask. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new UnauthenticatedError();
  return request.actor;
}

/** The user an authenticated request is made by (its Idempotency-Keys are scoped to them). */
export function callerIdOf(request: FastifyRequest): number {
  const actor = actorOf(request);
  if (actor.role === 'SYSTEM') throw new UnauthenticatedError();
  return actor.userId;
}

/** Whether a zod object schema has a `userId` field: then a customer may only name themselves there. */
function hasUserId(schema: unknown): boolean {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape !== undefined && 'userId' in shape;
}

function userIdIn(value: unknown): number | undefined {
  const userId = typeof value === 'object' && value !== null ? (value as { userId?: unknown }).userId : undefined;
  return typeof userId === 'number' ? userId : undefined;
}

/**
 * Default-deny access control for every route registered on `app` after this call, in the contract's order:
 * 1. onRequest, before the body is even read: no valid token → 401 UNAUTHENTICATED;
 * 2. then Fastify validates (400);
 * 3. preHandler, before the route's own work and before any Idempotency-Key is looked up: an ADMIN route
 *    refuses a customer, and a `userId` in the path or the body that is not the customer's own is 403.
 * Use cases check the actor again; this is the edge's half, which keeps the precedence the contract's.
 */
export function installAccessControl(app: FastifyInstance, authenticate: Authenticate): void {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access ?? 'SIGNED_IN';
    route.config = { ...route.config, access };
    if (access === 'PUBLIC') return;
    const schema = route.schema ?? {};
    const actsFor = [schema.params, schema.body].some((part) => hasUserId(part));
    const response = {
      401: problemSchema.describe('UNAUTHENTICATED: no valid bearer token'),
      ...(access === 'ADMIN' || actsFor ? { 403: problemSchema.describe('FORBIDDEN') } : {}),
      ...(schema.response as object | undefined),
    };
    route.schema = { ...schema, security: [{ [BEARER_SCHEME]: [] }], response };
  });

  app.addHook('onRequest', async (request) => {
    if (accessOf(request) === 'PUBLIC') return;
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new UnauthenticatedError('An Authorization: Bearer <access token> header is required.');
    request.actor = await authenticate.execute(token);
  });

  app.addHook('preHandler', async (request) => {
    if (accessOf(request) === 'PUBLIC') return;
    const actor = actorOf(request);
    if (accessOf(request) === 'ADMIN') assertAdmin(actor);
    for (const userId of [userIdIn(request.params), userIdIn(request.body)])
      if (userId !== undefined) assertMayActFor(actor, userId);
  });
}
