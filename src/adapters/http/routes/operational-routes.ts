import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RETRY_AFTER_SECONDS } from '../error-handler.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../problems.js';
import { problemSchema } from '../schemas.js';

export interface OperationalRoutesOptions {
  isReady: () => Promise<boolean>;
}

const status = z.object({ status: z.string() });

export const operationalRoutes: FastifyPluginAsyncZod<OperationalRoutesOptions> = async (app, { isReady }) => {
  const tags = ['Operations'];

  app.get('/health', { schema: { tags, response: { 200: status } } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { tags, response: { 200: status, 503: problemSchema } } }, async (request, reply) => {
    if (await isReady()) return { status: 'ready' };
    return reply
      .status(503)
      .type(PROBLEM_CONTENT_TYPE)
      .header('retry-after', String(RETRY_AFTER_SECONDS))
      .send({ ...problem('SERVICE_UNAVAILABLE', 'The database is not reachable.'), requestId: request.id });
  });
};
