import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UndiciDataPlatformClient } from '../../../src/adapters/data-platform/undici-data-platform-client.js';
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
const clientFor = (baseUrl: string, timeoutMs = 200) => {
  const client = new UndiciDataPlatformClient({ baseUrl, timeoutMs });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  await receiver.start();
});
afterEach(() => {
  receiver.requests.length = 0;
  receiver.answer = () => ({ status: 200, body: '{"accepted":true}' });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await receiver.stop();
});

describe('UndiciDataPlatformClient', () => {
  it('POSTs a paid order with its event id to /orders, keyed by the event id', async () => {
    await clientFor(receiver.url).deliver(eventId, event);

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
