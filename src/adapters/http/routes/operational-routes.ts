import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RETRY_AFTER_SECONDS } from '../error-handler.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../problems.js';
import { problemSchema } from '../schemas.js';

export interface OperationalRoutesOptions {
  isReady: () => Promise<boolean>;
  /** The public keys access tokens are verified with. */
  jwks: () => Promise<{ keys: Record<string, unknown>[] }>;
}

const status = z.object({ status: z.string() });

export const operationalRoutes: FastifyPluginAsyncZod<OperationalRoutesOptions> = async (app, { isReady, jwks }) => {
  const tags = ['Operations'];
  const config = { access: 'PUBLIC' } as const;

  app.get('/health', { config, schema: { tags, response: { 200: status } } }, async () => ({ status: 'ok' }));

  app.get(
    '/ready',
    { config, schema: { tags, response: { 200: status, 503: problemSchema } } },
    async (request, reply) => {
      if (await isReady()) return { status: 'ready' };
      return reply
        .status(503)
        .type(PROBLEM_CONTENT_TYPE)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ ...problem('SERVICE_UNAVAILABLE', 'The database is not reachable.'), requestId: request.id });
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config,
      schema: {
        tags: ['Authentication'],
        description: 'The public keys (JWK Set) access tokens are signed with, each with its kid.',
        response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return jwks();
    },
  );
};
