import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import Fastify, { type FastifyInstance, type RouteShorthandOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { auditStampOf, requireAuditActions } from '../../../src/adapters/http/audit.js';

/** An app with the audit requirement and one route, whose handler answers the request's audit stamp and id. */
async function appWith(
  method: 'GET' | 'POST' | 'PATCH',
  options: RouteShorthandOptions,
  url = '/admin/thing',
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  requireAuditActions(app);
  await app.register(async (routes) => {
    routes.route({
      method,
      url,
      ...options,
      handler: async (request) => ({ stamp: auditStampOf(request), requestId: request.id }),
    });
  });
  return app;
}

/** OpenTelemetry's context carried through async calls, as the SDK's context manager carries it. */
class AsyncContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    active: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(active, () => fn.call(thisArg, ...args));
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

afterEach(() => {
  context.disable();
});

describe('the audit requirement on routes', () => {
  it.each(['POST', 'PATCH'] as const)(
    'stops the app from starting on an admin %s route that declares no action',
    async (method) => {
      const started = appWith(method, { config: { access: 'ADMIN' } }).then((app) => app.ready());
      await expect(started).rejects.toThrow(/\/admin\/thing is an admin action: declare its config\.audit action/);
    },
  );

  it.each(['SIGNED_IN', 'PUBLIC', undefined] as const)(
    'stops the app from starting on a route under /admin/ that is not for administrators (%s)',
    async (access) => {
      for (const url of ['/admin/thing', '/api/v1/admin/thing']) {
        const started = appWith('POST', { config: { ...(access ? { access } : {}), audit: 'product.update' } }, url);
        await expect(started.then((app) => app.ready())).rejects.toThrow(/is under \/admin\/: declare it for ADMIN/);
      }
    },
  );

  it('lets an admin read, and a route for anyone else, start without an action', async () => {
    for (const [method, access, url] of [
      ['GET', 'ADMIN', '/admin/thing'],
      ['POST', 'SIGNED_IN', '/thing'],
      ['POST', 'PUBLIC', '/administrators'],
    ] as const) {
      const app = await appWith(method, { config: { access } }, url);
      await expect(app.ready()).resolves.toBe(app);
      await app.close();
    }
  });
});

describe('auditStampOf', () => {
  it("gives the route's action and the request id, and no trace id while tracing is off", async () => {
    const app = await appWith('POST', { config: { access: 'ADMIN', audit: 'product.update' } });
    const response = await app.inject({ method: 'POST', url: '/admin/thing' });
    const { stamp, requestId } = response.json<{ stamp: unknown; requestId: string }>();
    expect(stamp).toEqual({ action: 'product.update', requestId, traceId: null });
    await app.close();
  });

  it('gives the active trace id when a trace is being recorded', async () => {
    expect(context.setGlobalContextManager(new AsyncContextManager())).toBe(true);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const span = trace.wrapSpanContext({ traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 });
    const app = await appWith('POST', { config: { access: 'ADMIN', audit: 'delivery.retry' } });

    // Awaited inside: inject's answer sends the request only once awaited, and it must be in the trace.
    const response = await context.with(trace.setSpan(context.active(), span), async () => {
      return await app.inject({ method: 'POST', url: '/admin/thing' });
    });

    expect(response.json()).toMatchObject({ stamp: { action: 'delivery.retry', traceId } });
    await app.close();
  });

  it('refuses a route that declares no action: there is nothing to stamp', async () => {
    const app = await appWith('GET', { config: { access: 'ADMIN' } });
    const response = await app.inject({ method: 'GET', url: '/admin/thing' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ message: expect.stringMatching(/declares no audit action/) });
    await app.close();
  });
});
