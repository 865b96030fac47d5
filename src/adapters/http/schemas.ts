import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../application/shared/pagination.js';
import { CONTROL_CHARACTERS, characterCount } from '../../domain/shared/text.js';

/** A positive integer id in a path: `abc`, `0`, `1.5`, `01` and anything past 2^53 − 1 are rejected. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'must be at most 9007199254740991');

export const userIdParams = z.object({ userId: idParam });

/** A positive integer id in a body (a JSON number): 1 to 2^53 − 1. */
export const idValue = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The largest request body accepted: 1 MiB, the contract's; past it the answer is 413 PAYLOAD_TOO_LARGE. */
export const BODY_LIMIT_BYTES = 1_048_576;

/**
 * Cursors are opaque to clients: base64url of `{"after": <key>}`. Anything else, tampered or garbage, is a
 * validation error, never a 500.
 */
function encodeCursor(after: number): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

const cursorPayload = z.strictObject({ after: idValue });

const cursorParam = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const parsed = cursorPayload.safeParse(decodeJson(Buffer.from(value, 'base64url').toString('utf8')));
    if (parsed.success && encodeCursor(parsed.data.after) === value) return parsed.data.after;
    ctx.addIssue({ code: 'custom', message: 'is not a cursor this API issued' });
    return z.NEVER;
  });

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// No more digits than MAX_PAGE_LIMIT has, so a huge number is refused before it is parsed.
const limitParam = z
  .string()
  .regex(new RegExp(`^[0-9]{1,${String(MAX_PAGE_LIMIT).length}}$`), `must be an integer from 1 to ${MAX_PAGE_LIMIT}`)
  .transform(Number)
  .refine((limit) => limit >= 1 && limit <= MAX_PAGE_LIMIT, `must be an integer from 1 to ${MAX_PAGE_LIMIT}`)
  .default(DEFAULT_PAGE_LIMIT);

export const pageQuery = z.object({ limit: limitParam, cursor: cursorParam.optional() });

export function toPageRequest(query: { limit: number; cursor?: number | undefined }): {
  limit: number;
  after?: number;
} {
  return query.cursor === undefined ? { limit: query.limit } : { limit: query.limit, after: query.cursor };
}

export function paginated<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export function toPaginated<T, R>(page: { items: T[]; nextAfter: number | null }, present: (item: T) => R) {
  return { items: page.items.map(present), nextCursor: page.nextAfter === null ? null : encodeCursor(page.nextAfter) };
}

/** Timestamps the API writes: ISO 8601 in UTC. */
export const timestamp = z.iso.datetime();

/** How an optional instant is written: ISO 8601 in UTC, or null. */
export const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/**
 * Timestamps the API reads: ISO 8601 with Z or an offset, which is the same instant; in UTC it must fall
 * in the years 0001-9999, the ones the API can write back.
 */
export const timestampInput = z.iso.datetime({ offset: true }).refine((value) => {
  const year = new Date(value).getUTCFullYear();
  return year >= 1 && year <= 9999;
}, 'must be an instant in the years 0001 to 9999 (UTC)');

/** A name: trimmed, 1 to `max` characters counted as code points (as the database counts them). */
export function nameText(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .refine((value) => characterCount(value) <= max, `must be 1 to ${max} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters')
    .meta({ maxLength: max, description: `1 to ${max} characters` });
}

export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
});

const validationProblemSchema = problemSchema.extend({
  errors: z.array(z.object({ path: z.string(), message: z.string() })),
});

/** The error responses every route can give, for the OpenAPI document. */
export const commonErrors = {
  400: validationProblemSchema.describe('INVALID_REQUEST'),
  500: problemSchema.describe('INTERNAL_ERROR'),
} as const;
