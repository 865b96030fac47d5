import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { tracing } from '@opentelemetry/sdk-node';

type ReadableSpan = ReturnType<tracing.InMemorySpanExporter['getFinishedSpans']>[number];
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/adapters/http/app.js';
import { createLogger } from '../../../src/adapters/logging/logger.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { startTracing } from '../../../src/adapters/tracing/start-tracing.js';
import { stopTracing } from '../../../src/adapters/tracing/tracing-runtime.js';
import { withUseCaseSpans } from '../../../src/adapters/tracing/use-case-spans.js';
import {
  accessTokens,
  appDependencies,
  createContainer,
  ensureAdmin,
  startOutboxRelay,
} from '../../../src/container.js';
import { Receiver } from '../../integration/data-platform/receiver.js';

/**
 * The tracing SDK as the service starts it, with its spans kept in memory: the app, its use cases and the
 * outbox relay on the in-memory adapters, delivering over HTTP to a stand-in platform on loopback. (The SQL
 * spans need PostgreSQL: tests/e2e/tracing.e2e.test.ts has them.)
 */
const exporter = new tracing.InMemorySpanExporter();
startTracing({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
afterAll(() => stopTracing());

class Lines extends Writable {
  readonly entries: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      this.entries.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The app and the relay on in-memory adapters, tracing, delivering to a stand-in platform; an admin signed in. */
async function tracedShop({ concurrency }: { concurrency?: number } = {}) {
  const platform = await new Receiver().start();
  const logs = new Lines();
  const container = createContainer({
    repositories: { kind: 'IN_MEMORY', store: new InMemoryStore() },
    dataPlatform: { url: platform.url, ...(concurrency ? { concurrency } : {}) },
    tracing: true,
  });
  const logger = await createLogger({ level: 'info', pretty: false, destination: logs, traceFields: true });
  const app = await buildApp(withUseCaseSpans(appDependencies(container)), { logger });
  const relayErrors: unknown[] = [];
  const relay = startOutboxRelay(container, (error) => relayErrors.push(error));
  const admin = await ensureAdmin(container, 'admin@tracing.test', 'a long enough password');
  const adminToken = await accessTokens(container).issue({ userId: admin!.id, role: 'ADMIN', tokenVersion: 0 });
  const post = async (url: string, payload: object, token = adminToken) => {
    const response = await app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      payload,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json<{ id: number; orderId: number }>();
  };
  /** A user with money to spend, and their token. */
  const aBuyer = async (name: string) => {
    const buyer = await post('/admin/users', { name });
    await post(`/users/${buyer.id}/balance/charge`, { amount: 10_000 });
    return {
      id: buyer.id,
      token: await accessTokens(container).issue({ userId: buyer.id, role: 'CUSTOMER', tokenVersion: 0 }),
    };
  };
  const deliveredOrders = async (count: number) => {
    for (let waited = 0; platform.requests.length < count && waited < 10_000; waited += 20) await sleep(20);
    await sleep(50);
    return platform.requests.map((request) => ({
      orderId: (JSON.parse(request.body) as { orderId: number }).orderId,
      traceparent: request.headers.traceparent,
    }));
  };
  const close = async () => {
    await app.close();
    await relay.stop();
    await platform.stop();
  };
  return { platform, logs, relayErrors, post, aBuyer, deliveredOrders, close };
}

describe('one trace from a request to its delivery, in memory', () => {
  it('links POST /orders, PlaceOrder, the delivery attempt and its HTTP call, whose traceparent the platform gets', async () => {
    const shop = await tracedShop();
    try {
      const buyer = await shop.aBuyer('Traced buyer');
      const lamp = await shop.post('/admin/products', { name: 'Lamp', price: 1_000, stock: 5 });
      exporter.reset();
      const order = await shop.post(
        '/orders',
        { userId: buyer.id, items: [{ productId: lamp.id, quantity: 1 }] },
        buyer.token,
      );

      const [delivered] = await shop.deliveredOrders(1);
      expect(delivered!.orderId).toBe(order.orderId);

      const spans = exporter.getFinishedSpans();
      const named = (name: string) => spans.find((span) => span.name === name);
      const request = named('POST /api/v1/orders')!;
      const useCase = named('PlaceOrder')!;
      const attempt = named('deliver ORDER_PAID')!;
      const call = spans.find((span) => parentOf(span) === idOf(attempt))!;
      expect([request, useCase, attempt, call].every(Boolean), spans.map((s) => s.name).join(', ')).toBe(true);

      const traceId = request.spanContext().traceId;
      expect(new Set([request, useCase, attempt, call].map((span) => span.spanContext().traceId))).toEqual(
        new Set([traceId]),
      );
      expect(parentOf(attempt)).toBe(idOf(useCase));
      expect(delivered!.traceparent).toBe(`00-${traceId}-${idOf(call)}-01`);

      // The request's log lines name its trace and span.
      const completed = shop.logs.entries.find(
        (entry) => entry.msg === 'request completed' && entry.trace_id === traceId,
      );
      expect(completed).toMatchObject({ span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(shop.relayErrors).toEqual([]);
    } finally {
      await shop.close();
    }
  });

  it('gives every delivery its own order’s trace when more are in flight than the default pool has connections', async () => {
    const orders = 60;
    const shop = await tracedShop({ concurrency: orders });
    try {
      const lamp = await shop.post('/admin/products', { name: 'Lamp', price: 1_000, stock: orders });
      const buyers = await Promise.all(Array.from({ length: orders }, (_, i) => shop.aBuyer(`buyer ${i}`)));
      // The platform holds every answer until all the sends are in, so none frees a connection early.
      let release = () => {};
      const allIn = new Promise<void>((resolve) => (release = resolve));
      shop.platform.answer = async () => {
        if (shop.platform.requests.length >= orders) release();
        await Promise.race([allIn, sleep(2_000)]);
        return { status: 200 };
      };
      exporter.reset();
      await Promise.all(
        buyers.map((buyer) =>
          shop.post('/orders', { userId: buyer.id, items: [{ productId: lamp.id, quantity: 1 }] }, buyer.token),
        ),
      );

      const delivered = await shop.deliveredOrders(orders);
      expect(delivered).toHaveLength(orders);
      const spans = exporter.getFinishedSpans();
      for (const { orderId, traceparent } of delivered) {
        const attempt = spans.find(
          (span) => span.name === 'deliver ORDER_PAID' && span.attributes['shop.order.id'] === orderId,
        );
        expect(attempt, `order ${orderId}'s attempt`).toBeDefined();
        const calls = spans.filter((span) => parentOf(span) === idOf(attempt!));
        expect(
          calls.map((call) => `00-${call.spanContext().traceId}-${idOf(call)}-01`),
          `order ${orderId}`,
        ).toEqual([traceparent]);
      }
      expect(shop.relayErrors).toEqual([]);
    } finally {
      await shop.close();
    }
  });
});
