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

describe('one trace from a request to its delivery, in memory', () => {
  it('links POST /orders, PlaceOrder, the delivery attempt and its HTTP call, whose traceparent the platform gets', async () => {
    const platform = await new Receiver().start();
    const logs = new Lines();
    const container = createContainer({
      repositories: { kind: 'IN_MEMORY', store: new InMemoryStore() },
      dataPlatform: { url: platform.url },
      tracing: true,
    });
    const logger = await createLogger({ level: 'info', pretty: false, destination: logs, traceFields: true });
    const app = await buildApp(withUseCaseSpans(appDependencies(container)), { logger });
    const relayErrors: unknown[] = [];
    const relay = startOutboxRelay(container, (error) => relayErrors.push(error));
    try {
      const admin = await ensureAdmin(container, 'admin@tracing.test', 'a long enough password');
      const adminToken = await accessTokens(container).issue({ userId: admin!.id, role: 'ADMIN', tokenVersion: 0 });
      const asAdmin = { authorization: `Bearer ${adminToken}` };
      const post = async (url: string, payload: object, headers = asAdmin) => {
        const response = await app.inject({ method: 'POST', url: `/api/v1${url}`, payload, headers });
        expect(response.statusCode, response.body).toBeLessThan(300);
        return response.json<{ id: number; orderId: number }>();
      };
      const buyer = await post('/admin/users', { name: 'Traced buyer' });
      await post(`/users/${buyer.id}/balance/charge`, { amount: 10_000 });
      const lamp = await post('/admin/products', { name: 'Lamp', price: 1_000, stock: 5 });
      const buyerToken = await accessTokens(container).issue({ userId: buyer.id, role: 'CUSTOMER', tokenVersion: 0 });
      exporter.reset();
      const order = await post(
        '/orders',
        { userId: buyer.id, items: [{ productId: lamp.id, quantity: 1 }] },
        { authorization: `Bearer ${buyerToken}` },
      );

      for (let waited = 0; platform.requests.length === 0 && waited < 5_000; waited += 20) await sleep(20);
      const [delivered] = platform.requests;
      expect((JSON.parse(delivered!.body) as { orderId: number }).orderId).toBe(order.orderId);
      await sleep(50);

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
      expect(delivered!.headers.traceparent).toBe(`00-${traceId}-${idOf(call)}-01`);

      // The request's log lines name its trace and span.
      const completed = logs.entries.find((entry) => entry.msg === 'request completed' && entry.trace_id === traceId);
      expect(completed).toMatchObject({ span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(relayErrors).toEqual([]);
    } finally {
      await app.close();
      await relay.stop();
      await platform.stop();
    }
  });
});
