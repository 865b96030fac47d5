import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the stand-in data platform behaves at the moment a request arrives:
 * - `ok`: 200 after a pause drawn from [minMs, maxMs]; or, with probability `failRate`, 500 at once; or,
 *   with probability `slowRate`, 200 only after `slowMs`;
 * - `slow`: 200 only after `delayMs` (past the service's timeout, the service gives up first);
 * - `hang`: never answers.
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
  | { readonly kind: 'hang' };

/** One request as the receiver saw it: from its arrival to its answer, or to the caller hanging up. */
export interface ReceivedAttempt {
  readonly path: string;
  readonly eventId: string | undefined;
  readonly orderId: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly body: Record<string, unknown> | undefined;
  /** performance.now() in the test process. */
  readonly startedAt: number;
  endedAt: number | undefined;
  status: number | undefined;
  /** answered: the answer was written; aborted: the caller hung up (or the receiver went down) first. */
  outcome: 'pending' | 'answered' | 'aborted';
}

/**
 * The data platform on loopback, for fault tests: records every request with its start and end, answers
 * as `mode` says, can go down and come back on the same port. A delivery is an `answered` 2xx.
 */
export class FaultReceiver {
  readonly attempts: ReceivedAttempt[] = [];
  mode: ReceiverMode = { kind: 'ok' };
  private server: Server | undefined;
  private port = 0;
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
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
    const chunks: Buffer[] = [];
    let body: Record<string, unknown> | undefined;
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const key = request.headers['idempotency-key'];
    const attempt: ReceivedAttempt = {
      path: request.url ?? '',
      eventId: typeof body?.eventId === 'string' ? body.eventId : undefined,
      orderId: typeof body?.orderId === 'number' ? body.orderId : undefined,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      body,
      startedAt,
      endedAt: undefined,
      status: undefined,
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
    if (mode.kind === 'hang') return;
    if (mode.kind === 'slow') delayMs = mode.delayMs;
    else {
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
    attempt.outcome = 'answered';
    attempt.endedAt = performance.now();
    response
      .writeHead(status, { 'content-type': 'application/json' })
      .end(status === 200 ? '{"accepted":true}' : '{"error":"overloaded"}');
  }
}
