import { Pool } from 'undici';
import type { DataPlatformClient } from '../../application/ports/data-platform.js';
import type { DataPlatformEvent, DataPlatformEventType } from '../../domain/data-platform/delivery.js';

export interface UndiciDataPlatformClientOptions {
  /** The platform's base URL; paid orders go to `{baseUrl}/orders`, cancellations to `{baseUrl}/orders/cancellations`. */
  readonly baseUrl: string;
  /** For one attempt, from connecting to the end of the response. */
  readonly timeoutMs?: number;
  readonly connections?: number;
}

const ERROR_BODY_CHARS = 200;

/** Where each type of event is posted, under the base URL's path (the contract's paths). */
const PATHS: Record<DataPlatformEventType, string> = {
  ORDER_PAID: '/orders',
  ORDER_CANCELLED: '/orders/cancellations',
};

/**
 * Sends each event as `POST {baseUrl}/orders` (a paid order) or `POST {baseUrl}/orders/cancellations` (a
 * cancellation), the body the event id and the event, with its event id as the Idempotency-Key, so the
 * platform can dedupe retries.
 */
export class UndiciDataPlatformClient implements DataPlatformClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly origin: string;
  private readonly timeoutMs: number;

  constructor({ baseUrl, timeoutMs = 5_000, connections = 50 }: UndiciDataPlatformClientOptions) {
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.origin = url.origin;
    this.timeoutMs = timeoutMs;
    this.pool = new Pool(url.origin, { connections, keepAliveTimeout: 10_000 });
  }

  async deliver(eventId: string, { type, body }: DataPlatformEvent): Promise<void> {
    const path = `${this.basePath}${PATHS[type]}`;
    const target = `${this.origin}${path}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    let statusCode: number;
    let answer: string;
    try {
      const response = await this.pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'idempotency-key': eventId },
        body: JSON.stringify({ eventId, ...body }),
        signal,
      });
      statusCode = response.statusCode;
      if (statusCode >= 200 && statusCode < 300) {
        // Read to the end, so the connection goes back to the pool rather than being closed.
        await response.body.dump();
        return;
      }
      answer = (await response.body.text()).trim().slice(0, ERROR_BODY_CHARS);
    } catch (error) {
      if (signal.aborted) throw new Error(`POST ${target} timed out: no complete answer within ${this.timeoutMs} ms`);
      throw new Error(`POST ${target} failed: ${describeNetworkError(error)}`, { cause: error });
    }
    throw new Error(`POST ${target} answered ${statusCode}${answer ? `: ${answer}` : ''}`);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
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
