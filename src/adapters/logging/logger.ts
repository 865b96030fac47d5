import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { currentSpanFields } from '../tracing/trace-context.js';

export interface LoggerOptions {
  readonly level: Level | 'silent';
  /** For a person at a terminal (stdout a TTY): one coloured line per entry. Otherwise one JSON object per line. */
  readonly pretty: boolean;
  /** Where the lines go: stdout unless given (tests). */
  readonly destination?: DestinationStream;
  /** Colours in pretty lines; by default when the terminal supports them. */
  readonly colorize?: boolean;
  /** Each line written inside a span carries its `trace_id` and `span_id` (with tracing on). */
  readonly traceFields?: boolean;
}

/** What Fastify's request logger puts in an entry: the id on each line, the request and answer on two of them. */
interface RequestFields {
  readonly reqId?: string | number;
  readonly req?: { readonly method?: string; readonly url?: string };
  readonly res?: { readonly statusCode?: number };
  readonly responseTime?: number;
}

/**
 * A pretty line starts with the request id, and Fastify's request lines carry what they are about on the
 * line itself (`[id] incoming request POST /api/v1/orders`, `[id] request completed 201 in 12 ms`) rather
 * than as objects under it; every other field is printed below the line, as pino-pretty does.
 */
function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const { reqId, req, res, responseTime } = log as RequestFields;
  const message = log[messageKey];
  const parts = [reqId === undefined ? '' : `[${reqId}] `, typeof message === 'string' ? message : ''];
  if (req?.method !== undefined) parts.push(` ${req.method} ${req.url ?? ''}`);
  if (res?.statusCode !== undefined) parts.push(` ${res.statusCode}`);
  if (typeof responseTime === 'number') parts.push(` in ${Math.round(responseTime)} ms`);
  return parts.join('');
}

/** The process's logger: pretty for a terminal, JSON for everything else (files, pipes, log collectors). */
export async function createLogger({
  level,
  pretty,
  destination,
  colorize,
  traceFields = false,
}: LoggerOptions): Promise<Logger> {
  const options = traceFields ? { level, mixin: currentSpanFields } : { level };
  if (!pretty) return destination ? pino(options, destination) : pino(options);
  // Loaded only for a terminal: a deployment that logs JSON never needs it.
  const { default: pinoPretty } = await import('pino-pretty');
  const stream = pinoPretty({
    // In the process, written as it happens: nothing is lost when the process exits right after a line.
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,reqId,req,res,responseTime',
    messageFormat: prettyMessage,
    ...(colorize === undefined ? {} : { colorize }),
    ...(destination ? { destination } : {}),
  });
  return pino(options, stream);
}
