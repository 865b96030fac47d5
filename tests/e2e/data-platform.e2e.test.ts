import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { aChargedUser, aProduct, anOrder } from '../support/builders.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

interface DeliveryBody {
  eventId: string;
  type: 'ORDER_PAID' | 'ORDER_CANCELLED';
  orderId: number;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

describe('the data platform administration', () => {
  it('shows a paid order PENDING, retries it, and refuses a delivered or unknown one', async () => {
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const lamp = await aProduct(t.api, { name: 'Lamp', price: 1_000, stock: 100 });
    const { orderId } = await anOrder(await t.as(userId), { userId, items: [{ productId: lamp.id, quantity: 2 }] });

    const admin = bearer(t.adminToken);
    const listed = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/data-platform/deliveries?status=PENDING',
      headers: admin,
    });
    expect(listed.statusCode).toBe(200);
    const delivery = listed.json<{ items: DeliveryBody[] }>().items.find((item) => item.orderId === orderId)!;
    expect(delivery).toMatchObject({
      type: 'ORDER_PAID',
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      deliveredAt: null,
      nextAttemptAt: expect.any(String),
    });

    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry`,
      headers: admin,
    });
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ eventId: delivery.eventId, status: 'PENDING', attempts: 0 });

    await sql`UPDATE data_platform_outbox SET status = 'DELIVERED', delivered_at = now() WHERE event_id = ${delivery.eventId}`.execute(
      t.database.db,
    );
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry`,
        headers: admin,
      }),
      409,
      'ALREADY_DELIVERED',
    );
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/data-platform/deliveries/5e0c1a52-7f0e-4e7b-9b0f-3d6c2a1b4f00/retry',
        headers: admin,
      }),
      404,
      'DELIVERY_NOT_FOUND',
    );
    expectProblem(
      await t.app.inject({ method: 'POST', url: '/api/v1/admin/data-platform/deliveries/42/retry', headers: admin }),
      400,
      'INVALID_REQUEST',
    );
  });

  it('lists a cancellation beside its order’s paid event, each with its type, filters by type and retries it', async () => {
    const { id: userId } = await aChargedUser(t.api, 10_000);
    const lamp = await aProduct(t.api, { name: 'Lamp', price: 1_000, stock: 100 });
    const { orderId } = await anOrder(await t.as(userId), { userId, items: [{ productId: lamp.id, quantity: 2 }] });
    // The cancellation's outbox row as the cancellation writes it: its own event, naming its cancellation.
    const { rows } = await sql<{ event_id: string }>`
      WITH cancellation AS (
        INSERT INTO order_cancellations (order_id, refund_amount, created_at) VALUES (${orderId}, 1000, now()) RETURNING id
      )
      INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
      SELECT 'ORDER_CANCELLED', ${orderId}, id, ${JSON.stringify({ orderId, userId, items: [{ productId: lamp.id, quantity: 1 }], refundAmount: 1_000, cancelledAt: new Date().toISOString() })}::jsonb, now(), now()
      FROM cancellation
      RETURNING event_id`.execute(t.database.db);
    const cancellationEventId = rows[0]!.event_id;
    const admin = bearer(t.adminToken);
    const deliveries = async (query: string) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/admin/data-platform/deliveries?limit=100${query}`,
        headers: admin,
      });
      expect(response.statusCode).toBe(200);
      return response.json<{ items: DeliveryBody[] }>().items.filter((item) => item.orderId === orderId);
    };

    const both = await deliveries('');
    expect(both.map(({ type, status }) => ({ type, status }))).toEqual([
      { type: 'ORDER_PAID', status: 'PENDING' },
      { type: 'ORDER_CANCELLED', status: 'PENDING' },
    ]);
    expect(both[1]!.eventId).toBe(cancellationEventId);
    expect((await deliveries('&type=ORDER_CANCELLED')).map((item) => item.eventId)).toEqual([cancellationEventId]);
    expect((await deliveries('&type=ORDER_PAID&status=PENDING')).map((item) => item.eventId)).toEqual([
      both[0]!.eventId,
    ]);
    expectProblem(
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/admin/data-platform/deliveries?type=ORDER_REFUNDED',
        headers: admin,
      }),
      400,
      'INVALID_REQUEST',
    );

    await sql`UPDATE data_platform_outbox SET status = 'FAILED', attempts = 10 WHERE event_id = ${cancellationEventId}`.execute(
      t.database.db,
    );
    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/data-platform/deliveries/${cancellationEventId}/retry`,
      headers: admin,
    });
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({
      eventId: cancellationEventId,
      type: 'ORDER_CANCELLED',
      orderId,
      status: 'PENDING',
      attempts: 0,
    });
  });

  it('documents each delivery’s type, and the type filter, in the OpenAPI document', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, { get?: { parameters?: { name: string; schema?: unknown }[]; responses: unknown } }>;
    }>();
    const list = spec.paths['/api/v1/admin/data-platform/deliveries']!.get!;
    expect(list.parameters).toContainEqual(
      expect.objectContaining({
        name: 'type',
        schema: expect.objectContaining({ enum: ['ORDER_PAID', 'ORDER_CANCELLED'] }),
      }),
    );
    expect(list.responses).toMatchObject({
      200: {
        content: {
          'application/json': {
            schema: {
              properties: {
                items: {
                  items: {
                    properties: { type: { enum: ['ORDER_PAID', 'ORDER_CANCELLED'] } },
                    required: expect.arrayContaining(['type', 'orderId']),
                  },
                },
              },
            },
          },
        },
      },
    });
  });
});
