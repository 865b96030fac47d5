import Fastify, { type FastifyInstance } from 'fastify';
import { type ZodTypeProvider, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import { GetDelivery, RedeliverEvent } from '../../../src/application/data-platform/delivery-operations.js';
import { ListDeliveries } from '../../../src/application/data-platform/list-deliveries.js';
import { RetryDelivery } from '../../../src/application/data-platform/retry-delivery.js';
import { installAccessControl } from '../../../src/adapters/http/auth.js';
import { errorHandler } from '../../../src/adapters/http/error-handler.js';
import { deliveryRoutes } from '../../../src/adapters/http/routes/delivery-routes.js';
import { InMemoryDeliveryStore } from '../../../src/adapters/memory/in-memory-delivery-store.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import { accessTokens, appDependencies, createContainer, ensureAdmin } from '../../../src/container.js';
import type { DataPlatformEvent } from '../../../src/domain/data-platform/delivery.js';

const paidEvent = (orderId: number): DataPlatformEvent => ({
  type: 'ORDER_PAID',
  body: {
    orderId,
    userId: 1,
    items: [{ productId: 1, name: 'Widget', quantity: 1, unitPrice: 500, amount: 500 }],
    totalAmount: 500,
    discountAmount: 0,
    paidAmount: 500,
    paidAt: '2026-11-24T03:00:00.000Z',
  },
});

const cancelledEvent = (orderId: number): DataPlatformEvent => ({
  type: 'ORDER_CANCELLED',
  body: {
    orderId,
    userId: 1,
    items: [{ productId: 1, quantity: 1 }],
    refundAmount: 500,
    cancelledAt: '2026-11-24T03:00:00.000Z',
  },
});

interface DeliveryBody {
  eventId: string;
  type: string;
  orderId: number;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  waitingFor: string | null;
}

let app: FastifyInstance;
let store: InMemoryDeliveryStore;
let clock: ManualClock;
let adminToken: string;

/**
 * Orders 1..4: 1 delivered, 2 parked FAILED after one attempt, 3 and 4 still PENDING; then order 2's
 * cancellation, PENDING.
 */
beforeEach(async () => {
  clock = new ManualClock('2026-11-24T03:00:00.000Z');
  const rows = new InMemoryStore();
  store = new InMemoryDeliveryStore(rows, clock);
  for (const orderId of [1, 2, 3, 4]) await store.add(paidEvent(orderId));
  await store.add(cancelledEvent(2), 1);
  const platform = {
    deliver: async (_eventId: string, event: DataPlatformEvent) => {
      if (event.body.orderId !== 1) throw new Error('answered 503');
    },
  };
  await new DeliverDueEvents(store, platform, {
    batchSize: 2,
    policy: { baseMs: 1_000, capMs: 60_000, maxAttempts: 1 },
    random: () => 0.5,
  }).execute();

  app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler(() => false));
  // The real access control, with an administrator of an in-memory shop signed in.
  const shop = createContainer({ repositories: { kind: 'IN_MEMORY' }, clock });
  const admin = (await ensureAdmin(shop, 'ops@shop.test', 'ops-password'))!;
  adminToken = await accessTokens(shop).issue({ userId: admin.id, role: 'ADMIN', tokenVersion: 0 });
  installAccessControl(app, appDependencies(shop).authenticate);
  await app.register(deliveryRoutes, {
    prefix: '/api/v1',
    listDeliveries: new ListDeliveries(store),
    retryDelivery: new RetryDelivery(new InMemoryUnitOfWork(rows, clock), store),
    getDelivery: new GetDelivery(store),
    redeliverEvent: new RedeliverEvent(new InMemoryUnitOfWork(rows, clock), store),
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const headers = () => ({ authorization: `Bearer ${adminToken}` });
const list = (query = '') =>
  app.inject({ method: 'GET', url: `/api/v1/admin/data-platform/deliveries${query}`, headers: headers() });
const retry = (eventId: string) =>
  app.inject({ method: 'POST', url: `/api/v1/admin/data-platform/deliveries/${eventId}/retry`, headers: headers() });
const eventIdOf = (orderId: number, type = 'ORDER_PAID') =>
  store.all().find((delivery) => delivery.orderId === orderId && delivery.type === type)!.eventId;

describe('GET /admin/data-platform/deliveries', () => {
  it('lists deliveries by outbox id with ISO timestamps, a page at a time', async () => {
    const first = await list('?limit=3');
    expect(first.statusCode).toBe(200);
    const page = first.json<{ items: DeliveryBody[]; nextCursor: string | null }>();
    expect(page.items).toEqual([
      {
        eventId: eventIdOf(1),
        type: 'ORDER_PAID',
        orderId: 1,
        status: 'DELIVERED',
        attempts: 1,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: '2026-11-24T03:00:00.000Z',
        waitingFor: null,
      },
      {
        eventId: eventIdOf(2),
        type: 'ORDER_PAID',
        orderId: 2,
        status: 'FAILED',
        attempts: 1,
        lastError: 'answered 503',
        nextAttemptAt: null,
        deliveredAt: null,
        waitingFor: null,
      },
      {
        eventId: eventIdOf(3),
        type: 'ORDER_PAID',
        orderId: 3,
        status: 'PENDING',
        attempts: 0,
        lastError: null,
        nextAttemptAt: '2026-11-24T03:00:00.000Z',
        deliveredAt: null,
        waitingFor: null,
      },
    ]);
    expect(page.nextCursor).toEqual(expect.any(String));

    const second = await list(`?limit=3&cursor=${page.nextCursor}`);
    expect(second.json()).toEqual({
      items: [
        expect.objectContaining({ type: 'ORDER_PAID', orderId: 4 }),
        {
          eventId: eventIdOf(2, 'ORDER_CANCELLED'),
          type: 'ORDER_CANCELLED',
          orderId: 2,
          status: 'PENDING',
          attempts: 0,
          lastError: null,
          nextAttemptAt: '2026-11-24T03:00:00.000Z',
          deliveredAt: null,
          // Parked, its order's paid event holds it until an operator retries that.
          waitingFor: eventIdOf(2),
        },
      ],
      nextCursor: null,
    });
  });

  it('filters by status', async () => {
    const response = await list('?status=PENDING');
    expect(response.json<{ items: DeliveryBody[] }>().items.map((item) => `${item.type}:${item.orderId}`)).toEqual([
      'ORDER_PAID:3',
      'ORDER_PAID:4',
      'ORDER_CANCELLED:2',
    ]);
  });

  it('filters by type, with the status too', async () => {
    const cancellations = await list('?type=ORDER_CANCELLED');
    expect(cancellations.statusCode).toBe(200);
    expect(cancellations.json<{ items: DeliveryBody[] }>().items.map((item) => item.eventId)).toEqual([
      eventIdOf(2, 'ORDER_CANCELLED'),
    ]);
    const paidPending = await list('?type=ORDER_PAID&status=PENDING');
    expect(paidPending.json<{ items: DeliveryBody[] }>().items.map((item) => item.orderId)).toEqual([3, 4]);
  });

  it('rejects an unknown status or type, a bad limit and a forged cursor with 400', async () => {
    for (const query of ['?status=LOST', '?type=ORDER_REFUNDED', '?limit=0', '?cursor=abc']) {
      const response = await list(query);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'INVALID_REQUEST' });
    }
  });
});

describe('POST /admin/data-platform/deliveries/{eventId}/retry', () => {
  it('answers 202 with the delivery due now and its attempts reset', async () => {
    clock.advance(5_000);
    const response = await retry(eventIdOf(2).toUpperCase());

    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      eventId: eventIdOf(2),
      type: 'ORDER_PAID',
      orderId: 2,
      status: 'PENDING',
      attempts: 0,
      lastError: 'answered 503',
      nextAttemptAt: '2026-11-24T03:00:05.000Z',
      deliveredAt: null,
      waitingFor: null,
    });
  });

  it('is 409 ALREADY_DELIVERED for a delivered event, 404 DELIVERY_NOT_FOUND for an unknown one, 400 for a non-UUID', async () => {
    const delivered = await retry(eventIdOf(1));
    expect(delivered.statusCode).toBe(409);
    expect(delivered.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(delivered.json()).toMatchObject({
      code: 'ALREADY_DELIVERED',
      eventId: eventIdOf(1),
      deliveredAt: '2026-11-24T03:00:00.000Z',
    });

    const unknown = await retry('00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({
      code: 'DELIVERY_NOT_FOUND',
      eventId: '00000000-0000-4000-8000-000000000000',
    });

    const anyVersion = await retry('11111111-1111-1111-1111-111111111111');
    expect(anyVersion.statusCode).toBe(404);

    const cancellation = await retry(eventIdOf(2, 'ORDER_CANCELLED'));
    expect(cancellation.statusCode).toBe(202);
    expect(cancellation.json()).toMatchObject({ type: 'ORDER_CANCELLED', orderId: 2, status: 'PENDING' });

    const malformed = await retry('not-a-uuid');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'INVALID_REQUEST', errors: [{ path: 'eventId' }] });
  });
});

const detail = (eventId: string) =>
  app.inject({ method: 'GET', url: `/api/v1/admin/data-platform/deliveries/${eventId}`, headers: headers() });
const redeliver = (eventId: string) =>
  app.inject({
    method: 'POST',
    url: `/api/v1/admin/data-platform/deliveries/${eventId}/redeliver`,
    headers: headers(),
  });

describe('GET /admin/data-platform/deliveries/{eventId}', () => {
  it('answers the delivery with the body it sends and its attempts, oldest first', async () => {
    const response = await detail(eventIdOf(2));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      eventId: eventIdOf(2),
      type: 'ORDER_PAID',
      orderId: 2,
      status: 'FAILED',
      attempts: [
        {
          attemptedAt: '2026-11-24T03:00:00.000Z',
          outcome: 'FAILED',
          httpStatus: null,
          durationMs: expect.any(Number),
          error: 'answered 503',
        },
      ],
      lastError: 'answered 503',
      nextAttemptAt: null,
      deliveredAt: null,
      waitingFor: null,
      payload: { eventId: eventIdOf(2), ...paidEvent(2).body },
    });
  });

  it('answers 404 DELIVERY_NOT_FOUND for an unknown event, 400 for one that is no UUID', async () => {
    const unknown = await detail('00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'DELIVERY_NOT_FOUND' });
    expect((await detail('not-a-uuid')).statusCode).toBe(400);
  });
});

describe('POST /admin/data-platform/deliveries/{eventId}/redeliver', () => {
  it('sends a DELIVERED event again: 202, due now with its attempts reset, then delivered once more', async () => {
    clock.advance(5_000);
    const response = await redeliver(eventIdOf(1));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      eventId: eventIdOf(1),
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: '2026-11-24T03:00:05.000Z',
      deliveredAt: null,
    });
    const sent: string[] = [];
    await new DeliverDueEvents(store, { deliver: async (eventId) => void sent.push(eventId) }).execute();
    expect(sent).toContain(eventIdOf(1));
    expect((await detail(eventIdOf(1))).json()).toMatchObject({ status: 'DELIVERED', attempts: [{}, {}] });
  });

  it('answers 404 DELIVERY_NOT_FOUND for an unknown event', async () => {
    const response = await redeliver('00000000-0000-4000-8000-000000000000');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'DELIVERY_NOT_FOUND' });
  });
});
