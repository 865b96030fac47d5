import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Receiver } from '../integration/data-platform/receiver.js';
import { aChargedUser, aProduct, anOrder } from '../support/builders.js';
import { type ServiceProcess, TEST_DATA_PLATFORM_SECRET, startServiceProcess } from '../support/service-process.js';
import { type ServiceSchema, createServiceSchema } from '../support/service-schema.js';

/**
 * The whole path of a paid order to the data platform, with real processes: the service, a receiver on
 * loopback that fails, hangs, goes down and comes back, and a SIGKILL of the service in the middle.
 */
let schema: ServiceSchema;
/** DATABASE_URL for the service processes: this file's schema. */
let databaseUrl = '';
beforeAll(async () => {
  schema = await createServiceSchema(inject('databaseUrl'), 'outage');
  databaseUrl = schema.serviceUrl;
});
afterAll(() => schema.drop());

interface Sent {
  eventId: string;
  orderId: number;
  paidAmount: number;
}

describe('delivery to the data platform', () => {
  it('an instance on a shared database without DATA_PLATFORM_URL claims no event; one that can deliver sends it', async () => {
    const blind = await startServiceProcess({ DATABASE_URL: databaseUrl, DATA_PLATFORM_URL: undefined });
    const receiver = await new Receiver().start();
    let sender: ServiceProcess | undefined;
    try {
      const user = await aChargedUser(blind, 10_000, { name: 'patient buyer' });
      const lamp = await aProduct(blind, { name: 'Lamp', price: 1_000, stock: 5 });
      const buyer = { origin: blind.origin, token: await blind.tokenFor(user.id) };
      const placed = await anOrder(buyer, { userId: user.id, items: [{ productId: lamp.id, quantity: 1 }] });
      // Well past the relay's polling interval: a relay that claimed it would have marked it delivered by now.
      await sleep(1_500);
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      const outbox = await client
        .query<{
          status: string;
          attempts: number;
        }>('SELECT status, attempts FROM data_platform_outbox WHERE order_id = $1', [placed.orderId])
        .finally(() => client.end());
      expect(outbox.rows).toEqual([{ status: 'PENDING', attempts: 0 }]);

      sender = await startServiceProcess({ DATABASE_URL: databaseUrl, DATA_PLATFORM_URL: receiver.url });
      const arrived = () => receiver.requests.some((r) => (JSON.parse(r.body) as Sent).orderId === placed.orderId);
      for (const started = performance.now(); !arrived() && performance.now() - started < 5_000; ) await sleep(20);
      expect(arrived()).toBe(true);
    } finally {
      for (const service of [blind, sender]) {
        if (!service) continue;
        service.child.kill('SIGTERM');
        expect(await service.exited).toBe(0);
      }
      await receiver.stop();
    }
  });

  it('sends a paid order within a second of its commit when the platform is healthy', async () => {
    const receiver = await new Receiver().start();
    const service = await startServiceProcess({ DATABASE_URL: databaseUrl, DATA_PLATFORM_URL: receiver.url });
    try {
      const user = await aChargedUser(service, 10_000, { name: 'buyer' });
      const lamp = await aProduct(service, { name: 'Lamp', price: 1_000, stock: 5 });
      const buyer = { origin: service.origin, token: await service.tokenFor(user.id) };
      const placed = await anOrder(buyer, { userId: user.id, items: [{ productId: lamp.id, quantity: 2 }] });
      const committedAt = performance.now();
      const arrived = () => receiver.requests.find((r) => (JSON.parse(r.body) as Sent).orderId === placed.orderId);
      while (!arrived() && performance.now() - committedAt < 1_000) await sleep(10);
      expect(arrived()).toBeDefined();
      expect(JSON.parse(arrived()!.body)).toMatchObject({
        orderId: placed.orderId,
        userId: user.id,
        totalAmount: 2_000,
        paidAmount: 2_000,
      });
      // Signed with DATA_PLATFORM_SECRET (SERVICE_AUTH_ENV's), as Standard Webhooks' reference library checks.
      expect(() =>
        new Webhook(TEST_DATA_PLATFORM_SECRET).verify(arrived()!.body, arrived()!.headers as Record<string, string>),
      ).not.toThrow();
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      await receiver.stop();
    }
  });

  it('sends a cancellation to /orders/cancellations on its own event id, and its paid order to /orders', async () => {
    const receiver = await new Receiver().start();
    const service = await startServiceProcess({ DATABASE_URL: databaseUrl, DATA_PLATFORM_URL: receiver.url });
    try {
      const user = await aChargedUser(service, 10_000, { name: 'canceller' });
      const lamp = await aProduct(service, { name: 'Lamp', price: 1_000, stock: 5 });
      const buyer = { origin: service.origin, token: await service.tokenFor(user.id) };
      const placed = await anOrder(buyer, { userId: user.id, items: [{ productId: lamp.id, quantity: 2 }] });
      // The cancellation's outbox row as the cancellation writes it, in the same shape.
      const cancelled = {
        orderId: placed.orderId,
        userId: user.id,
        items: [{ productId: lamp.id, quantity: 1 }],
        refundAmount: 1_000,
        cancelledAt: new Date().toISOString(),
      };
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      const { rows } = await client
        .query<{ event_id: string }>(
          `WITH cancellation AS (
             INSERT INTO order_cancellations (order_id, refund_amount, created_at) VALUES ($1, 1000, now()) RETURNING id
           )
           INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
           SELECT 'ORDER_CANCELLED', $1, id, $2::jsonb, now(), now() FROM cancellation RETURNING event_id`,
          [placed.orderId, JSON.stringify(cancelled)],
        )
        .finally(() => client.end());
      const eventId = rows[0]!.event_id;

      const ours = () => receiver.requests.filter((r) => (JSON.parse(r.body) as Sent).orderId === placed.orderId);
      for (const started = performance.now(); ours().length < 2 && performance.now() - started < 5_000; )
        await sleep(20);
      const byPath = new Map(ours().map((request) => [request.url, request]));
      expect([...byPath.keys()].sort()).toEqual(['/orders', '/orders/cancellations']);
      const cancellation = byPath.get('/orders/cancellations')!;
      expect(JSON.parse(cancellation.body)).toEqual({ eventId, ...cancelled });
      expect(cancellation.headers['idempotency-key']).toBe(eventId);
      const paid = JSON.parse(byPath.get('/orders')!.body) as Sent;
      expect(paid).toMatchObject({ orderId: placed.orderId, paidAmount: 2_000 });
      expect(paid.eventId).not.toBe(eventId);

      await sleep(200); // the DELIVERED marks land just after the receiver answered
      const listed = await service.request<{
        items: { eventId: string; type: string; orderId: number; status: string }[];
      }>('GET', '/api/v1/admin/data-platform/deliveries?limit=100');
      expect(
        listed.body.items
          .filter((item) => item.orderId === placed.orderId)
          .map(({ eventId: id, type, status }) => ({ id, type, status })),
      ).toEqual([
        { id: paid.eventId, type: 'ORDER_PAID', status: 'DELIVERED' },
        { id: eventId, type: 'ORDER_CANCELLED', status: 'DELIVERED' },
      ]);
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      await receiver.stop();
    }
  });

  it('delivers every paid order once the platform recovers, each with one event id, after a SIGKILL and restart', async () => {
    const receiver = await new Receiver().start();
    const env = {
      DATABASE_URL: databaseUrl,
      DATA_PLATFORM_URL: receiver.url,
      DATA_PLATFORM_TIMEOUT_MS: '300',
      DATA_PLATFORM_BACKOFF_BASE_MS: '100',
      DATA_PLATFORM_BACKOFF_CAP_MS: '800',
      DATA_PLATFORM_MAX_ATTEMPTS: '100',
    };
    let service: ServiceProcess = await startServiceProcess(env);
    try {
      const user = await aChargedUser(service, 10_000_000, { name: 'buyer' });
      const widget = await aProduct(service, { name: 'Widget', price: 1_000, stock: 1_000 });
      // The buyer's token outlives the restart below: the service signs with the same key when it comes back.
      const token = await service.tokenFor(user.id);
      const orderIds: number[] = [];
      const order = async () => {
        const placed = await anOrder(
          { origin: service.origin, token },
          { userId: user.id, items: [{ productId: widget.id, quantity: 1 }] },
        );
        orderIds.push(placed.orderId);
      };

      receiver.answer = () => ({ status: 500, body: '{"error":"overloaded"}' });
      for (let i = 0; i < 5; i++) await order();
      await sleep(600);
      receiver.answer = () => 'hang';
      for (let i = 0; i < 5; i++) await order();
      await sleep(800);
      await receiver.stop(); // down: connections refused
      for (let i = 0; i < 5; i++) await order();
      await sleep(400);

      service.child.kill('SIGKILL');
      await service.exited;
      service = await startServiceProcess(env);
      for (let i = 0; i < 5; i++) await order();

      const accepted = new Set<number>();
      receiver.answer = (request) => {
        accepted.add((JSON.parse(request.body) as Sent).orderId);
        return { status: 200, body: '{"accepted":true}' };
      };
      await receiver.start();
      for (let waited = 0; orderIds.some((id) => !accepted.has(id)); waited += 100) {
        if (waited > 20_000)
          throw new Error(`not delivered after 20 s: ${orderIds.filter((id) => !accepted.has(id)).join(', ')}`);
        await sleep(100);
      }

      // Every attempt for an order carried the same event id, in the body and as the Idempotency-Key.
      const sent = receiver.requests
        .filter((r) => r.body.length > 0)
        .map((r) => ({ body: JSON.parse(r.body) as Sent, key: r.headers['idempotency-key'] }));
      for (const orderId of orderIds) {
        const attempts = sent.filter((s) => s.body.orderId === orderId);
        expect(new Set(attempts.map((s) => s.body.eventId)).size).toBe(1);
        expect(attempts.every((s) => s.key === s.body.eventId)).toBe(true);
      }
      expect(sent.filter((s) => s.body.orderId === orderIds[0]).length).toBeGreaterThan(1);

      const listed = await service.request<{ items: { orderId: number; status: string }[] }>(
        'GET',
        '/api/v1/admin/data-platform/deliveries?limit=100',
      );
      const ours = listed.body.items.filter((item) => orderIds.includes(item.orderId));
      expect(ours).toHaveLength(20);
      await sleep(200); // the last DELIVERED marks land just after the receiver answered
      const after = await service.request<{ items: { orderId: number; status: string }[] }>(
        'GET',
        '/api/v1/admin/data-platform/deliveries?status=DELIVERED&limit=100',
      );
      expect(after.body.items.filter((item) => orderIds.includes(item.orderId))).toHaveLength(20);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await receiver.stop();
    }
  });
});
