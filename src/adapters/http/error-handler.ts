import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { PasswordHasherBusyError } from '../../application/ports/access-tokens.js';
import { DomainError, InvalidInputError } from '../../domain/shared/domain-error.js';
import { type Problem, PROBLEM_CONTENT_TYPE, isProblemCode, problem } from './problems.js';
import { BODY_LIMIT_BYTES } from './schemas.js';

const MIB = 2 ** 20;

interface FieldError {
  path: string;
  message: string;
}

function invalidRequest(errors: FieldError[]): Problem {
  const detail = errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
  return problem('INVALID_REQUEST', detail, { errors });
}

/** `/items/0/quantity` → `items.0.quantity`; the body as a whole is the empty path. */
function dottedPath(instancePath: string): string {
  return instancePath.split('/').filter(Boolean).join('.');
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params?: { keys?: string[] };
}

/** One entry per bad field; an unknown field is named by its own path, not its parent's. */
function fieldErrors({ keyword, instancePath, message, params }: ValidationIssue): FieldError[] {
  const path = dottedPath(instancePath);
  if (keyword === 'unrecognized_keys' && params?.keys?.length) {
    return params.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: 'is not a known field' }));
  }
  return [{ path, message: message ?? 'is invalid' }];
}

/** Tells which unknown errors mean "try again shortly" (the database unreachable): those are a 503. */
export type UnavailabilityTest = (error: unknown) => boolean;

export function toProblem(error: FastifyError | Error, isUnavailable: UnavailabilityTest = () => false): Problem {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation as ValidationIssue[];
    return invalidRequest(issues.flatMap(fieldErrors));
  }
  if (error instanceof InvalidInputError) return invalidRequest([{ path: error.field, message: error.message }]);
  if (error instanceof DomainError && isProblemCode(error.code)) return problem(error.code, error.message, error.facts);

  const status = 'statusCode' in error ? error.statusCode : undefined;
  if (status === 413)
    return problem('PAYLOAD_TOO_LARGE', `The request body is larger than ${BODY_LIMIT_BYTES / MIB} MiB.`, {
      limitBytes: BODY_LIMIT_BYTES,
    });
  if (status === 415) return problem('UNSUPPORTED_MEDIA_TYPE', error.message);
  if (status === 408) return problem('REQUEST_TIMEOUT', error.message);
  // Fastify's own 4xx: malformed JSON, an empty JSON body, a bad Content-Length. All are the request's fault.
  if (status !== undefined && status >= 400 && status < 500)
    return invalidRequest([{ path: '', message: error.message }]);
  if (error instanceof PasswordHasherBusyError)
    return problem('SERVICE_UNAVAILABLE', 'Too many logins and sign-ups are being checked right now; retry shortly.');
  if (isUnavailable(error))
    return problem('SERVICE_UNAVAILABLE', 'The service cannot reach its database right now; retry shortly.');
  return problem('INTERNAL_ERROR', 'Something went wrong on our side. The request id identifies it in our logs.');
}

/** Seconds a client is told to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

export function errorHandler(isUnavailable: UnavailabilityTest) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const body = toProblem(error, isUnavailable);
    // RFC 6750 §3.1: the error code only when a token was sent and refused.
    if (body.code === 'UNAUTHENTICATED')
      reply.header(
        'www-authenticate',
        request.headers.authorization ? 'Bearer realm="shop", error="invalid_token"' : 'Bearer realm="shop"',
      );
    // The rest of a request that timed out may still be on its way: the connection can't be reused.
    if (body.code === 'REQUEST_TIMEOUT') reply.header('connection', 'close');
    if (body.code === 'TOO_MANY_REQUESTS') reply.header('retry-after', String(body.retryAfterSeconds));
    if (body.status === 503) {
      // A flood of logins is refused by the thousand: one line each, without a stack.
      if (error instanceof PasswordHasherBusyError) request.log.warn('password hasher at capacity');
      else request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    } else if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code }, 'request rejected');
    return reply
      .status(body.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send({ ...body, requestId: request.id });
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = problem('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`);
  return reply
    .status(404)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...body, requestId: request.id });
}
