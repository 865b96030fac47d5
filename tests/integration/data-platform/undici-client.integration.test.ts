import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type UndiciDataPlatformClientOptions,
  UndiciDataPlatformClient,
} from '../../../src/adapters/data-platform/undici-data-platform-client.js';
import { WebhookSigner, newWebhookSecret } from '../../../src/adapters/data-platform/webhook-signer.js';
import { DeliveryFailure } from '../../../src/application/ports/data-platform.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';
import { Receiver } from './receiver.js';

const eventId = '3f2b8c9e-4d1a-4e6b-9a7c-2b5d8e1f0a34';
const event: DataPlatformEvent = {
  type: 'ORDER_PAID',
  body: {
    orderId: 42,
    userId: 7,
    items: [{ productId: 3, name: 'Keyboard', quantity: 2, unitPrice: 5_000, amount: 10_000 }],
    totalAmount: 10_000,
    discountAmount: 1_000,
    paidAmount: 9_000,
    paidAt: '2026-11-24T03:00:00.000Z',
  },
};
const cancellationId = '9a6e2f1c-7b3d-4c8e-a5f0-1d2b3c4e5f60';
const cancellation: DataPlatformEvent = {
  type: 'ORDER_CANCELLED',
  body: {
    orderId: 42,
    userId: 7,
    items: [{ productId: 3, quantity: 1 }],
    refundAmount: 4_500,
    cancelledAt: '2026-11-24T05:00:00.000Z',
  },
};

const receiver = new Receiver();
const clients: UndiciDataPlatformClient[] = [];
const clientFor = (baseUrl: string, timeoutMs = 200, options: Partial<UndiciDataPlatformClientOptions> = {}) => {
  const client = new UndiciDataPlatformClient({ baseUrl, timeoutMs, ...options });
  clients.push(client);
  return client;
};

/** What a platform receives of one request: the raw bytes of its body, and its headers. */
interface RawRequest {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

/**
 * A platform on loopback that keeps each request's body as the bytes that came, as a receiver verifying a
 * signature must, and answers with the status and headers `answer` says.
 */
class RawReceiver {
  readonly requests: RawRequest[] = [];
  answer: () => { status: number; headers?: OutgoingHttpHeaders } = () => ({ status: 204 });
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests.push({ body: Buffer.concat(chunks), headers: request.headers });
      const { status, headers = {} } = this.answer();
      response.writeHead(status, headers).end();
    });
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  start(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const raw = new RawReceiver();

beforeAll(async () => {
  await receiver.start();
  await raw.start();
});
afterEach(() => {
  receiver.requests.length = 0;
  receiver.answer = () => ({ status: 200, body: '{"accepted":true}' });
  raw.requests.length = 0;
  raw.answer = () => ({ status: 204 });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await receiver.stop();
  await raw.stop();
});

describe('UndiciDataPlatformClient', () => {
  it('POSTs a paid order with its event id to /orders, keyed by the event id, and answers the status', async () => {
    await expect(clientFor(receiver.url).deliver(eventId, event)).resolves.toEqual({ httpStatus: 200 });

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/orders' });
    expect(request!.headers['idempotency-key']).toBe(eventId);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      eventId,
      orderId: 42,
      userId: 7,
      items: [{ productId: 3, name: 'Keyboard', quantity: 2, unitPrice: 5_000, amount: 10_000 }],
      totalAmount: 10_000,
      discountAmount: 1_000,
      paidAmount: 9_000,
      paidAt: '2026-11-24T03:00:00.000Z',
    });
  });

  it('POSTs a cancellation with its event id to /orders/cancellations, keyed by its own event id', async () => {
    await clientFor(receiver.url).deliver(cancellationId, cancellation);

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/orders/cancellations' });
    expect(request!.headers['idempotency-key']).toBe(cancellationId);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      eventId: cancellationId,
      orderId: 42,
      userId: 7,
      items: [{ productId: 3, quantity: 1 }],
      refundAmount: 4_500,
      cancelledAt: '2026-11-24T05:00:00.000Z',
    });
  });

  it('keeps a path in the base URL for both types and accepts any 2xx', async () => {
    receiver.answer = () => ({ status: 202 });
    const client = clientFor(`${receiver.url}/ingest/v2/`);

    await client.deliver(eventId, event);
    await client.deliver(cancellationId, cancellation);

    expect(receiver.requests.map((request) => request.url)).toEqual([
      '/ingest/v2/orders',
      '/ingest/v2/orders/cancellations',
    ]);
  });

  it('names the URL of the event’s type in its errors', async () => {
    receiver.answer = () => ({ status: 503 });
    const client = clientFor(`${receiver.url}/v2`);

    await expect(client.deliver(eventId, event)).rejects.toThrow(`POST ${receiver.url}/v2/orders answered 503`);
    await expect(client.deliver(cancellationId, cancellation)).rejects.toThrow(
      `POST ${receiver.url}/v2/orders/cancellations answered 503`,
    );
  });

  it('reuses its connections for successive deliveries, reading each answer to the end', async () => {
    const client = clientFor(receiver.url);
    const before = receiver.connections;
    receiver.answer = () => ({ status: 200, body: JSON.stringify({ accepted: true, padding: 'x'.repeat(100_000) }) });

    for (let i = 0; i < 20; i++) await client.deliver(eventId, event);

    expect(receiver.requests).toHaveLength(20);
    // A connection is back in the pool a moment after its answer is read, so a second one may open; never one each.
    expect(receiver.connections - before).toBeLessThanOrEqual(2);
  });

  it('throws on a 500, saying the status and what the platform answered', async () => {
    receiver.answer = () => ({ status: 500, body: '{"error":"ingest down"}' });

    await expect(clientFor(receiver.url).deliver(eventId, event)).rejects.toThrow(
      /answered 500: \{"error":"ingest down"\}/,
    );
  });

  it('throws on a 4xx and on a redirect, which are not deliveries either', async () => {
    const client = clientFor(receiver.url);
    receiver.answer = () => ({ status: 409 });
    await expect(client.deliver(eventId, event)).rejects.toThrow(/answered 409$/);
    receiver.answer = () => ({ status: 301 });
    await expect(client.deliver(eventId, event)).rejects.toThrow(/answered 301$/);
  });

  it('gives up on a platform that never answers within the timeout', async () => {
    receiver.answer = () => 'hang';
    const started = performance.now();

    await expect(clientFor(receiver.url, 200).deliver(eventId, event)).rejects.toThrow(
      /timed out: no complete answer within 200 ms/,
    );

    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(1_500);
    expect(receiver.requests).toHaveLength(1);
  });

  it('throws "connection refused" when nothing listens on the port', async () => {
    const closed = await new Receiver().start();
    const url = closed.url;
    await closed.stop();

    await expect(clientFor(url).deliver(eventId, event)).rejects.toThrow(/connection refused/);
  });
});

/** The DeliveryFailure an attempt rejects with. */
const failureOf = (attempt: Promise<unknown>) =>
  attempt.then(
    () => expect.fail('delivered'),
    (error: unknown) => {
      expect(error).toBeInstanceOf(DeliveryFailure);
      return error as DeliveryFailure;
    },
  );

describe('what an attempt the platform did not accept rejects with', () => {
  const now = new Date('2026-11-24T03:00:00.000Z');
  const fixedClientFor = (url: string) => clientFor(url, 200, { clock: { now: () => now } });

  it('a non-2xx: a DeliveryFailure with the status, and no Retry-After unless a 429 or 503 asked', async () => {
    raw.answer = () => ({ status: 500, headers: { 'retry-after': '30' } });
    const failure = await failureOf(fixedClientFor(raw.url).deliver(eventId, event));

    expect(failure).toMatchObject({ message: `POST ${raw.url}/orders answered 500`, httpStatus: 500 });
    expect(failure.retryAfterMs).toBeUndefined();
  });

  it('a 429 or 503 with Retry-After: how long it asked, in seconds or until an HTTP date', async () => {
    raw.answer = () => ({ status: 503, headers: { 'retry-after': '7' } });
    expect(await failureOf(fixedClientFor(raw.url).deliver(eventId, event))).toMatchObject({
      message: `POST ${raw.url}/orders answered 503`,
      httpStatus: 503,
      retryAfterMs: 7_000,
    });

    raw.answer = () => ({ status: 429, headers: { 'retry-after': 'Tue, 24 Nov 2026 03:01:30 GMT' } });
    expect(await failureOf(fixedClientFor(raw.url).deliver(eventId, event))).toMatchObject({
      httpStatus: 429,
      retryAfterMs: 90_000,
    });

    raw.answer = () => ({ status: 429, headers: { 'retry-after': 'whenever' } });
    const unreadable = await failureOf(fixedClientFor(raw.url).deliver(eventId, event));
    expect(unreadable.httpStatus).toBe(429);
    expect(unreadable.retryAfterMs).toBeUndefined();
  });

  it('a timeout or a network error: a DeliveryFailure without a status', async () => {
    receiver.answer = () => 'hang';
    const timedOut = await failureOf(clientFor(receiver.url, 200).deliver(eventId, event));
    expect(timedOut).toMatchObject({ httpStatus: null, retryAfterMs: undefined });
    expect(timedOut.message).toMatch(/timed out: no complete answer within 200 ms/);

    const closed = await new Receiver().start();
    await closed.stop();
    const refused = await failureOf(clientFor(closed.url).deliver(eventId, event));
    expect(refused).toMatchObject({ httpStatus: null, retryAfterMs: undefined });
    expect(refused.message).toMatch(/connection refused/);
  });
});

describe('the signatures (Standard Webhooks 1.0, v1)', () => {
  const secret = newWebhookSecret();
  const previous = newWebhookSecret();
  // Not ASCII: the bytes signed and sent are UTF-8, several to a character.
  const named: DataPlatformEvent = {
    ...event,
    body: {
      ...event.body,
      items: [{ productId: 3, name: '키보드 ⌨ “Pro”', quantity: 2, unitPrice: 5_000, amount: 10_000 }],
    },
  };
  const signedBy = (secrets: string[], options: Partial<UndiciDataPlatformClientOptions> = {}) =>
    clientFor(raw.url, 1_000, { signer: new WebhookSigner(secrets), ...options });
  const headersOf = ({ headers }: RawRequest) => headers as Record<string, string>;

  it('carries webhook-id, webhook-timestamp and webhook-signature beside the Idempotency-Key, which the reference library verifies', async () => {
    const before = Math.floor(Date.now() / 1000);
    await signedBy([secret]).deliver(eventId, named);

    const [request] = raw.requests;
    const headers = headersOf(request!);
    expect(headers['idempotency-key']).toBe(eventId);
    expect(headers['webhook-id']).toBe(eventId);
    expect(Number(headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(Number(headers['webhook-timestamp'])).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(request!.body, headers)).toEqual({ eventId, ...named.body });
  });

  it('signs the exact bytes sent, at the time of each attempt', async () => {
    let now = new Date('2026-11-24T03:00:00.999Z');
    const client = signedBy([secret], { clock: { now: () => now } });
    await client.deliver(eventId, named);
    now = new Date('2026-11-24T03:00:04.000Z');
    await client.deliver(eventId, named);

    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(raw.requests.map((request) => headersOf(request)['webhook-timestamp'])).toEqual([
      String(Date.parse('2026-11-24T03:00:00Z') / 1000),
      String(Date.parse('2026-11-24T03:00:04Z') / 1000),
    ]);
    for (const { body, headers } of raw.requests) {
      // As a receiver checks by hand: HMAC-SHA256 of "{id}.{timestamp}.{body}", compared in constant time.
      const expected = createHmac('sha256', key)
        .update(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.`)
        .update(body)
        .digest();
      const given = Buffer.from(String(headers['webhook-signature']).slice('v1,'.length), 'base64');
      expect(timingSafeEqual(given, expected)).toBe(true);
      expect(body.equals(Buffer.from(JSON.stringify({ eventId, ...named.body }), 'utf8'))).toBe(true);
    }
    expect(headersOf(raw.requests[0]!)['webhook-signature']).not.toBe(headersOf(raw.requests[1]!)['webhook-signature']);
  });

  it('signs with the current and the previous secrets during a rotation: a receiver holding either accepts', async () => {
    await signedBy([secret, previous]).deliver(cancellationId, cancellation);

    const [request] = raw.requests;
    const headers = headersOf(request!);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
    for (const held of [secret, previous])
      expect(new Webhook(held).verify(request!.body, headers)).toEqual({
        eventId: cancellationId,
        ...cancellation.body,
      });
    expect(() => new Webhook(newWebhookSecret()).verify(request!.body, headers)).toThrow(WebhookVerificationError);
  });

  it('is refused by the reference library for a tampered body, id or timestamp, or a wrong secret', async () => {
    await signedBy([secret]).deliver(eventId, named);

    const [request] = raw.requests;
    const headers = headersOf(request!);
    const tampered = Buffer.from(request!.body.toString('utf8').replace('"paidAmount":9000', '"paidAmount":1'), 'utf8');
    expect(tampered.equals(request!.body)).toBe(false);
    const refused = [
      () => new Webhook(secret).verify(tampered, headers),
      () => new Webhook(secret).verify(Buffer.concat([request!.body, Buffer.from(' ')]), headers),
      () => new Webhook(secret).verify(request!.body, { ...headers, 'webhook-id': cancellationId }),
      () =>
        new Webhook(secret).verify(request!.body, {
          ...headers,
          'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1),
        }),
      () => new Webhook(newWebhookSecret()).verify(request!.body, headers),
    ];
    for (const verify of refused) expect(verify).toThrow(WebhookVerificationError);
    expect(new Webhook(secret).verify(request!.body, headers)).toMatchObject({ paidAmount: 9_000 });
  });

  it('never puts a secret in what a failed attempt says', async () => {
    raw.answer = () => ({ status: 503, headers: { 'retry-after': '1' } });
    const failure = await failureOf(signedBy([secret, previous]).deliver(eventId, event));

    const said = `${String(failure)} ${JSON.stringify(failure)} ${failure.stack}`;
    for (const held of [secret, previous]) {
      expect(said).not.toContain(held.slice('whsec_'.length));
      expect(said).not.toContain(Buffer.from(held.slice('whsec_'.length), 'base64').toString('hex'));
    }
  });
});
