import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { TEST_DATA_PLATFORM_SECRET } from '../../support/service-process.js';

/**
 * How the stand-in data platform behaves at the moment a request arrives:
 * - `ok`: 200 after a pause drawn from [minMs, maxMs]; or, with probability `failRate`, 500 at once; or,
 *   with probability `slowRate`, 200 only after `slowMs`;
 * - `slow`: 200 only after `delayMs` (past the service's timeout, the service gives up first);
 * - `hang`: never answers;
 * - `throttle`: `status` (429 unless told) with `Retry-After: <retryAfterS>` at once; or, with probability
 *   1 − `share` (share 1 unless told), 200 at once.
 * Down (connections refused) is `stop()`.
 */
export type ReceiverMode =
  | {
      readonly kind: 'ok';
      readonly minMs?: number;
      readonly maxMs?: number;
      readonly failRate?: number;
      readonly slowRate?: number;
      readonly slowMs?: number;
    }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'throttle'; readonly retryAfterS: number; readonly status?: 429 | 503; readonly share?: number };

/** The Standard Webhooks headers of a request, as sent (undefined when absent). */
export interface WebhookHeadersSeen {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** One request as the receiver saw it: from its arrival to its answer, or to the caller hanging up. */
export interface ReceivedAttempt {
  readonly path: string;
  readonly eventId: string | undefined;
  readonly orderId: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly body: Record<string, unknown> | undefined;
  /** The body exactly as its bytes arrived (UTF-8); undefined when it did not arrive whole. */
  readonly rawBody: string | undefined;
  readonly webhook: WebhookHeadersSeen;
  /**
   * `verified`, or why the reference verifier (standardwebhooks) refused the request, checked on arrival as
   * the platform would, so that its 5-minute timestamp window is measured from the arrival, not from a later check.
   */
  readonly signature: string;
  /** performance.now() in the test process. */
  readonly startedAt: number;
  /** Date.now() on arrival: the wall clock that `webhook-timestamp` (Unix seconds of the attempt) is compared with. */
  readonly arrivedAtMs: number;
  endedAt: number | undefined;
  status: number | undefined;
  /** The Retry-After the receiver answered with, if it did. */
  retryAfter: string | undefined;
  /** answered: the answer was written; aborted: the caller hung up (or the receiver went down) first. */
  outcome: 'pending' | 'answered' | 'aborted';
}

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/**
 * The data platform on loopback, for fault tests: records every request with its start and end, its raw body
 * and whether its signature verifies under `secret` (the one service processes started by tests sign with),
 * answers as `mode` says, can go down and come back on the same port. A delivery is an `answered` 2xx.
 */
export class FaultReceiver {
  readonly attempts: ReceivedAttempt[] = [];
  mode: ReceiverMode = { kind: 'ok' };
  private server: Server | undefined;
  private port = 0;
  private readonly random: () => number;
  private readonly verifier: Webhook;

  constructor(random: () => number = Math.random, secret: string = TEST_DATA_PLATFORM_SECRET) {
    this.random = random;
    this.verifier = new Webhook(secret);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<this> {
    if (this.server) return this;
    const server = createServer((request, response) => void this.handle(request, response));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Down: the port refuses connections, and requests still open are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Event ids answered with a 2xx, with the first such attempt. */
  delivered(): Map<string, ReceivedAttempt> {
    const delivered = new Map<string, ReceivedAttempt>();
    for (const attempt of this.attempts) {
      if (
        attempt.eventId &&
        attempt.outcome === 'answered' &&
        attempt.status !== undefined &&
        attempt.status < 300 &&
        !delivered.has(attempt.eventId)
      ) {
        delivered.set(attempt.eventId, attempt);
      }
    }
    return delivered;
  }

  /** Pairs of requests for one event id that were open at the same time. */
  overlaps(): { eventId: string; first: ReceivedAttempt; second: ReceivedAttempt }[] {
    const byEvent = new Map<string, ReceivedAttempt[]>();
    for (const attempt of this.attempts) {
      if (!attempt.eventId) continue;
      const list = byEvent.get(attempt.eventId) ?? [];
      list.push(attempt);
      byEvent.set(attempt.eventId, list);
    }
    const found: { eventId: string; first: ReceivedAttempt; second: ReceivedAttempt }[] = [];
    for (const [eventId, list] of byEvent) {
      list.sort((a, b) => a.startedAt - b.startedAt);
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          if (list[j]!.startedAt < (list[i]!.endedAt ?? Number.POSITIVE_INFINITY))
            found.push({ eventId, first: list[i]!, second: list[j]! });
        }
      }
    }
    return found;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const arrivedAtMs = Date.now();
    const chunks: Buffer[] = [];
    let raw: Buffer | undefined;
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
      raw = Buffer.concat(chunks);
    } catch {
      raw = undefined;
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = raw === undefined ? undefined : (JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
    } catch {
      body = undefined;
    }
    const webhook: WebhookHeadersSeen = {
      id: header(request, 'webhook-id'),
      timestamp: header(request, 'webhook-timestamp'),
      signature: header(request, 'webhook-signature'),
    };
    const key = request.headers['idempotency-key'];
    const attempt: ReceivedAttempt = {
      path: request.url ?? '',
      eventId: typeof body?.eventId === 'string' ? body.eventId : undefined,
      orderId: typeof body?.orderId === 'number' ? body.orderId : undefined,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      body,
      rawBody: raw?.toString('utf8'),
      webhook,
      signature: raw === undefined ? 'the body did not arrive whole' : this.verify(raw, webhook),
      startedAt,
      arrivedAtMs,
      endedAt: undefined,
      status: undefined,
      retryAfter: undefined,
      outcome: 'pending',
    };
    this.attempts.push(attempt);
    let hungUp = false;
    response.once('close', () => {
      if (attempt.outcome !== 'pending') return;
      hungUp = true;
      attempt.outcome = 'aborted';
      attempt.endedAt = performance.now();
    });

    const mode = this.mode;
    let status = 200;
    let delayMs = 0;
    let retryAfter: string | undefined;
    if (mode.kind === 'hang') return;
    if (mode.kind === 'slow') delayMs = mode.delayMs;
    else if (mode.kind === 'throttle') {
      if (this.random() < (mode.share ?? 1)) {
        status = mode.status ?? 429;
        retryAfter = String(mode.retryAfterS);
      }
    } else {
      const roll = this.random();
      if (roll < (mode.failRate ?? 0)) status = 500;
      else if (roll < (mode.failRate ?? 0) + (mode.slowRate ?? 0)) delayMs = mode.slowMs ?? 0;
      else delayMs = (mode.minMs ?? 0) + this.random() * Math.max(0, (mode.maxMs ?? 0) - (mode.minMs ?? 0));
    }

    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (hungUp || response.destroyed) return;
    // The end of the request is when the receiver answers (not when the bytes drain), so two attempts
    // overlap only if the second arrived before the first was answered.
    attempt.status = status;
    attempt.retryAfter = retryAfter;
    attempt.outcome = 'answered';
    attempt.endedAt = performance.now();
    response
      .writeHead(status, {
        'content-type': 'application/json',
        ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
      })
      .end(status === 200 ? '{"accepted":true}' : status === 500 ? '{"error":"overloaded"}' : '{"error":"slow down"}');
  }

  /** `verified`, or the reference verifier's reason for refusing these exact bytes with these headers. */
  private verify(raw: Buffer, webhook: WebhookHeadersSeen): string {
    const headers: Record<string, string> = {};
    if (webhook.id !== undefined) headers['webhook-id'] = webhook.id;
    if (webhook.timestamp !== undefined) headers['webhook-timestamp'] = webhook.timestamp;
    if (webhook.signature !== undefined) headers['webhook-signature'] = webhook.signature;
    try {
      this.verifier.verify(raw, headers, { jsonParse: false });
      return 'verified';
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
}
