import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Receiver } from '../integration/data-platform/receiver.js';
import { aChargedUser, aProduct, anOrder } from '../support/builders.js';
import { type ExportedSpan, ancestry, exportedSpans, treeOf } from '../support/otlp-spans.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { type ServiceSchema, createServiceSchema } from '../support/service-schema.js';

/**
 * Tracing as an operator turns it on: the service process started the way `npm start` starts it, with the
 * standard OTEL_* variables naming an OTLP/JSON collector, here a stand-in on loopback that keeps every span
 * it is sent in memory; a stand-in data platform records what each delivery carries.
 */
let schema: ServiceSchema;
/** DATABASE_URL for the service processes: this file's schema. */
let databaseUrl = '';
const collector = new Receiver();
const platform = new Receiver();
let service: ServiceProcess;

beforeAll(async () => {
  schema = await createServiceSchema(inject('databaseUrl'), 'tracing');
  databaseUrl = schema.serviceUrl;
  await collector.start();
  await platform.start();
  service = await startServiceProcess({
    DATABASE_URL: databaseUrl,
    DATA_PLATFORM_URL: platform.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'shop-under-test',
    // Spans leave in batches this often: the test waits for them.
    OTEL_BSP_SCHEDULE_DELAY: '50',
    DATA_PLATFORM_BACKOFF_BASE_MS: '50',
  });
});

afterAll(async () => {
  service.child.kill('SIGTERM');
  const exitCode = await service.exited;
  await collector.stop();
  await platform.stop();
  await schema.drop();
  expect(exitCode).toBe(0);
});

/** Polls until `found` finds something in what has arrived, or fails after `ms`. */
async function eventually<T>(what: string, found: () => T | undefined, ms = 10_000): Promise<T> {
  for (const started = performance.now(); performance.now() - started < ms; await sleep(25)) {
    const value = found();
    if (value !== undefined) return value;
  }
  throw new Error(`${what} did not arrive within ${ms} ms`);
}

const spans = () => exportedSpans(collector.requests);
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

/** A new buyer with 10,000 on their balance orders `quantity` of a new 1,000-won product on `instance`. */
async function aPaidOrder(instance: ServiceProcess, names: { buyer: string; product: string }, quantity: number) {
  const buyer = await aChargedUser(instance, 10_000, { name: names.buyer });
  const product = await aProduct(instance, { name: names.product, price: 1_000, stock: 5 });
  const asBuyer = { origin: instance.origin, token: await instance.tokenFor(buyer.id) };
  const placed = await anOrder(asBuyer, { userId: buyer.id, items: [{ productId: product.id, quantity }] });
  return { asBuyer, placed };
}

describe('tracing with OpenTelemetry', () => {
  it('follows a paid order from POST /orders through its SQL to the delivery, which carries its traceparent', async () => {
    const { placed } = await aPaidOrder(service, { buyer: 'traced buyer', product: 'Traced lamp' }, 2);

    const request = await eventually('the order request span', () =>
      spans().find((span) => span.name === 'POST /api/v1/orders' && span.kind === 2),
    );
    expect(request.service).toBe('shop-under-test');
    const delivered = await eventually('the delivery', () =>
      platform.requests.find((each) => (JSON.parse(each.body) as { orderId: number }).orderId === placed.orderId),
    );
    const [, traceId, parentId] = TRACEPARENT.exec(String(delivered.headers.traceparent)) ?? [];
    expect(traceId).toBe(request.traceId);

    // The whole trace has arrived once the span of the HTTP call the platform answered is in.
    const call = await eventually('the span of the call to the platform', () =>
      spans().find((span) => span.spanId === parentId),
    );
    const trace = spans().filter((span) => span.traceId === request.traceId);
    if (process.env.PRINT_TRACE) console.log(treeOf(trace, request.traceId));
    const named = (name: string) => trace.filter((span) => span.name === name);
    const [useCase] = named('PlaceOrder');
    const [attempt] = named('deliver ORDER_PAID');
    expect(useCase && attempt, treeOf(trace, request.traceId)).toBeTruthy();

    const ids = (chain: ExportedSpan[]) => chain.map((span) => span.spanId);
    expect(ids(ancestry(trace, useCase!))).toContain(request.spanId);
    expect(ancestry(trace, attempt!).map((span) => span.name)).toEqual([
      'deliver ORDER_PAID',
      'PlaceOrder',
      ...ancestry(trace, useCase!)
        .slice(1)
        .map((span) => span.name),
    ]);
    expect(attempt!.attributes).toMatchObject({ 'shop.delivery.attempt': 1, 'shop.order.id': placed.orderId });
    expect(call.kind).toBe(3);
    expect(call.parentSpanId).toBe(attempt!.spanId);

    // Every statement of the order is a span under its use case, with the text and never a value.
    const statements = trace.filter((span) => typeof span.attributes['db.query.text'] === 'string');
    const ordersInsert = statements.find((span) =>
      /insert into "?orders"?/i.test(String(span.attributes['db.query.text'])),
    );
    expect(ordersInsert, treeOf(trace, request.traceId)).toBeDefined();
    expect(ids(ancestry(trace, ordersInsert!))).toContain(useCase!.spanId);
    for (const statement of statements) {
      const text = String(statement.attributes['db.query.text']);
      expect(text).not.toContain('traced buyer');
      expect(text.replaceAll("'?'", '')).not.toMatch(/'/);
    }
  });

  it("puts each attempt at a cancellation's delivery, the retry too, in the cancelling request's trace", async () => {
    const { asBuyer, placed } = await aPaidOrder(service, { buyer: 'cancelling buyer', product: 'Returned lamp' }, 1);
    const cancellations = () =>
      platform.requests.filter(
        (each) =>
          each.url === '/orders/cancellations' &&
          (JSON.parse(each.body) as { orderId: number }).orderId === placed.orderId,
      );
    platform.answer = (request) =>
      request.url === '/orders/cancellations' && cancellations().length === 1 ? { status: 503 } : { status: 200 };

    const cancelled = await service.request('POST', `/api/v1/orders/${placed.orderId}/cancel`, {}, asBuyer.token);
    expect(cancelled.status).toBe(200);
    const [first, second] = await eventually('two attempts', () => {
      const sent = cancellations();
      return sent.length >= 2 ? sent : undefined;
    });
    const cancelSpan = await eventually('the cancel request span', () =>
      spans().find((span) => span.name === 'POST /api/v1/orders/:orderId/cancel' && span.kind === 2),
    );
    for (const attempt of [first!, second!])
      expect(TRACEPARENT.exec(String(attempt.headers.traceparent))?.[1]).toBe(cancelSpan.traceId);
    const attempts = await eventually('both attempt spans', () => {
      const found = spans().filter(
        (span) => span.traceId === cancelSpan.traceId && span.name === 'deliver ORDER_CANCELLED',
      );
      return found.length === 2 ? found : undefined;
    });
    expect(attempts.map((span) => span.attributes['shop.delivery.attempt']).sort()).toEqual([1, 2]);
  });

  it('joins the delivery to the order’s trace when another instance delivers it', async () => {
    // This instance takes the order but delivers nothing: without DATA_PLATFORM_URL it claims no event.
    const writer = await startServiceProcess({
      DATABASE_URL: databaseUrl,
      DATA_PLATFORM_URL: undefined,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'shop-writer',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      const { placed } = await aPaidOrder(
        writer,
        { buyer: 'buyer on another instance', product: 'Handed-over lamp' },
        1,
      );
      const delivered = await eventually('the delivery', () =>
        platform.requests.find((each) => (JSON.parse(each.body) as { orderId: number }).orderId === placed.orderId),
      );
      const traceId = TRACEPARENT.exec(String(delivered.headers.traceparent))?.[1];
      const request = await eventually('the order request span', () =>
        spans().find((span) => span.traceId === traceId && span.name === 'POST /api/v1/orders'),
      );
      expect(request.service).toBe('shop-writer');
      const attempt = await eventually('the attempt span', () =>
        spans().find((span) => span.traceId === traceId && span.name === 'deliver ORDER_PAID'),
      );
      expect(attempt.service).toBe('shop-under-test');
    } finally {
      writer.child.kill('SIGTERM');
      expect(await writer.exited).toBe(0);
    }
  });

  it('continues the trace of an incoming traceparent', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const response = await fetch(`${service.origin}/api/v1/products?limit=1`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(response.status).toBe(200);

    const request: ExportedSpan = await eventually('the products request span', () =>
      spans().find((span) => span.traceId === traceId && span.name === 'GET /api/v1/products'),
    );
    expect(request.parentSpanId).toBe(callerSpanId);
    expect(request.kind).toBe(2);
    await eventually('its use case span', () =>
      spans().find((span) => span.traceId === traceId && span.name === 'ListProducts'),
    );
  });

  it('shuts down promptly and cleanly when the collector is gone, leaving its spans unsent', async () => {
    const gone = new Receiver();
    await gone.start();
    const endpoint = gone.url;
    await gone.stop();
    const orphan = await startServiceProcess({
      DATABASE_URL: databaseUrl,
      DATA_PLATFORM_URL: platform.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    });
    expect((await fetch(`${orphan.origin}/api/v1/products?limit=1`)).status).toBe(200);
    const stopping = performance.now();
    orphan.child.kill('SIGTERM');
    expect(await orphan.exited).toBe(0);
    expect(performance.now() - stopping).toBeLessThan(5_000);
  });
});
