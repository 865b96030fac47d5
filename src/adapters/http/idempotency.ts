import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IDEMPOTENCY_KEY_MAX_LENGTH, type RunIdempotently } from '../../application/idempotency/run-idempotently.js';
import { callerIdOf } from './auth.js';
import { toProblem } from './error-handler.js';
import { PROBLEM_CONTENT_TYPE } from './problems.js';

/** The optional header of the three retry-safe writes, validated (and documented) like any input. */
export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(
      new RegExp(`^[\\x20-\\x7E]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}$`),
      `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`,
    )
    .optional()
    .describe('Retry-safe: the same key and body within 24 h replays the first answer (Idempotent-Replayed: true)'),
});

/** Business answers are kept with the key; a 400 or a 5xx is not (nothing happened; a retry runs afresh). */
const KEPT_STATUSES = new Set([404, 409, 422]);

/** JSON with object keys sorted, so two bodies that parse alike hash alike whatever their byte order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface IdempotentReply {
  readonly runIdempotently: RunIdempotently;
  readonly status: number;
}

/**
 * Answers `perform()` with `status`, or, when the request carries an Idempotency-Key, through
 * RunIdempotently: the first request runs and its answer is kept with the key in the same transaction;
 * a retry gets the kept answer back.
 */
export async function replyIdempotently(
  request: FastifyRequest,
  reply: FastifyReply,
  { runIdempotently, status }: IdempotentReply,
  perform: () => Promise<unknown>,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return reply.status(status).send(await perform());

  const { response, replayed } = await runIdempotently.execute(
    {
      // Scoped to the caller, not to the user acted for: a replay is only ever answered to whoever ran it.
      userId: callerIdOf(request),
      key,
      // The route's pattern and its parsed parameters: the same route however its path is spelled
      // (a trailing slash, percent-encoding), and another route for another coupon or user.
      route: `${request.method} ${request.routeOptions.url ?? request.url} ${canonicalJson(request.params)}`,
      requestHash: createHash('sha256').update(canonicalJson(request.body)).digest('base64url'),
    },
    async () => ({ status, body: await perform() }),
    (error) => {
      const problem = toProblem(error as Error);
      return KEPT_STATUSES.has(problem.status)
        ? { status: problem.status, body: { ...problem, requestId: request.id } }
        : undefined;
    },
  );
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (response.status >= 400) reply.type(PROBLEM_CONTENT_TYPE);
  return reply.status(response.status).send(response.body);
}
