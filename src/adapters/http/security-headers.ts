import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Helmet's headers as `options` give them, worked out once: with no directive computed per request they
 * are the same on every answer, so each request sets a ready list instead of running helmet's middleware
 * (which @fastify/helmet builds afresh for every request).
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const policy = options.contentSecurityPolicy;
  for (const [name, values] of Object.entries(typeof policy === 'object' ? (policy.directives ?? {}) : {}))
    if (values && typeof values === 'object' && [...values].some((value) => typeof value === 'function'))
      throw new Error(`the content security policy's ${name} is computed per request; one list cannot hold it`);
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a value that is not a string`);
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  // Helmet 8 throws a bad option itself; the callback's error argument is kept only for older versions.
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return headers;
}

/** Sets the headers on every answer, 404s and errors included: the hook runs before routing decides. */
export function addSecurityHeaders(app: FastifyInstance, options: Readonly<HelmetOptions>): void {
  const headers = securityHeaders(options);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
