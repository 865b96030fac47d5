import { Pool } from 'undici';
import type { Clock } from '../../application/ports/clock.js';
import {
  type DataPlatformClient,
  DeliveryFailure,
  type DeliveryReceipt,
} from '../../application/ports/data-platform.js';
import type { DataPlatformEvent, DataPlatformEventType } from '../../domain/data-platform/delivery.js';
import { systemClock } from '../system-clock.js';
import { WebhookSigner, newWebhookSecret } from './webhook-signer.js';

export interface UndiciDataPlatformClientOptions {
  /** The platform's base URL; paid orders go to `{baseUrl}/orders`, cancellations to `{baseUrl}/orders/cancellations`. */
  readonly baseUrl: string;
  /** For one attempt, from connecting to the end of the response. */
  readonly timeoutMs?: number;
  readonly connections?: number;
  /**
   * Signs every attempt (DATA_PLATFORM_SECRET, then DATA_PLATFORM_PREVIOUS_SECRETS). Unset: a secret of this
   * client alone, so every attempt still carries the headers, but nobody can verify them (tests).
   */
  readonly signer?: WebhookSigner;
  /** Whose time an attempt's `webhook-timestamp` is: the system's unless a test fixes it. */
  readonly clock?: Clock;
}

const ERROR_BODY_CHARS = 200;

/** Where each type of event is posted, under the base URL's path (the contract's paths). */
const PATHS: Record<DataPlatformEventType, string> = {
  ORDER_PAID: '/orders',
  ORDER_CANCELLED: '/orders/cancellations',
};

/** The answers whose Retry-After the retries heed: too many requests, and unavailable. */
const ASKS_TO_WAIT = new Set([429, 503]);

/**
 * Sends each event as `POST {baseUrl}/orders` (a paid order) or `POST {baseUrl}/orders/cancellations` (a
 * cancellation), the body the event id and the event, with its event id as the Idempotency-Key, so the
 * platform can dedupe retries, and signed as Standard Webhooks says (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature` over the exact bytes sent). An attempt the platform did not accept rejects with a
 * DeliveryFailure: the status it answered (null for a network error or a timeout), and how long a 429 or 503
 * asked to be left alone.
 */
export class UndiciDataPlatformClient implements DataPlatformClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly signer: WebhookSigner;
  private readonly clock: Clock;

  constructor({
    baseUrl,
    timeoutMs = 5_000,
    connections = 50,
    signer = new WebhookSigner([newWebhookSecret()]),
    clock = systemClock,
  }: UndiciDataPlatformClientOptions) {
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.origin = url.origin;
    this.timeoutMs = timeoutMs;
    this.signer = signer;
    this.clock = clock;
    this.pool = new Pool(url.origin, { connections, keepAliveTimeout: 10_000 });
  }

  async deliver(eventId: string, { type, body }: DataPlatformEvent): Promise<DeliveryReceipt> {
    const path = `${this.basePath}${PATHS[type]}`;
    const target = `${this.origin}${path}`;
    // The bytes signed are the bytes sent: encoded once, here.
    const payload = Buffer.from(JSON.stringify({ eventId, ...body }), 'utf8');
    const signal = AbortSignal.timeout(this.timeoutMs);
    let statusCode: number;
    let answer: string;
    let retryAfter: number | undefined;
    try {
      const response = await this.pool.request({
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': eventId,
          ...this.signer.headers(eventId, this.clock.now(), payload),
        },
        body: payload,
        signal,
      });
      statusCode = response.statusCode;
      if (statusCode >= 200 && statusCode < 300) {
        // Read to the end, so the connection goes back to the pool rather than being closed.
        await response.body.dump();
        return { httpStatus: statusCode };
      }
      retryAfter = retryAfterMs(statusCode, response.headers['retry-after'], this.clock.now());
      answer = (await response.body.text()).trim().slice(0, ERROR_BODY_CHARS);
    } catch (error) {
      if (signal.aborted)
        throw new DeliveryFailure(`POST ${target} timed out: no complete answer within ${this.timeoutMs} ms`, null);
      throw Object.assign(new DeliveryFailure(`POST ${target} failed: ${describeNetworkError(error)}`, null), {
        cause: error,
      });
    }
    throw new DeliveryFailure(
      `POST ${target} answered ${statusCode}${answer ? `: ${answer}` : ''}`,
      statusCode,
      retryAfter,
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * How long a 429 or 503 answer asks to be left alone, in ms, by its Retry-After (RFC 9110 §10.2.3): a number
 * of seconds, or an HTTP date (the time from `now` until then, never below 0). Undefined for any other status,
 * without the header, or when the header is neither.
 */
export function retryAfterMs(statusCode: number, header: string | string[] | undefined, now: Date): number | undefined {
  if (!ASKS_TO_WAIT.has(statusCode)) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // IMF-fixdate (Sun, 06 Nov 1994 08:49:37 GMT), and the obsolete RFC 850 and asctime forms: each opens with a
  // day name, which keeps Date.parse's leniency (it reads "12" or "soon 3" as dates) out.
  if (!/^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /.test(value)) return undefined;
  // An HTTP date is in GMT, which asctime's form leaves unsaid (and Date.parse would read as local time).
  const at = Date.parse(/ GMT$/.test(value) ? value : `${value} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function describeNetworkError(error: unknown): string {
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  const message = error instanceof Error ? error.message || error.name : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Node reports a failed connect to a host with several addresses as an AggregateError; its parts carry the code. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) return errors.map(errorCode).find(Boolean);
  return errorCode(cause);
}
