import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createUser, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

interface DeliveryBody {
  eventId: string;
  orderId: number;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

async function placeOrder(
  inject: (options: {
    method: 'POST';
    url: string;
    payload: object;
  }) => Promise<{ statusCode: number; json: <T>() => T }>,
  userId: number,
) {
  const product = await inject({
    method: 'POST',
    url: '/api/v1/admin/products',
    payload: { name: 'Lamp', price: 1_000, stock: 100 },
  });
  expect(product.statusCode).toBe(201);
  expect(
    (await inject({ method: 'POST', url: `/api/v1/users/${userId}/balance/charge`, payload: { amount: 10_000 } }))
      .statusCode,
  ).toBe(200);
  const order = await inject({
    method: 'POST',
    url: '/api/v1/orders',
    payload: { userId, items: [{ productId: product.json<{ id: number }>().id, quantity: 2 }] },
  });
  expect(order.statusCode).toBe(201);
  return order.json<{ orderId: number }>().orderId;
}

describe('the data platform administration', () => {
  it('shows a paid order PENDING, retries it, and refuses a delivered or unknown one', async () => {
    const inject = (options: { method: 'POST'; url: string; payload: object }) => t.app.inject(options);
    const orderId = await placeOrder(inject, await createUser(t.app));

    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/admin/data-platform/deliveries?status=PENDING' });
    expect(listed.statusCode).toBe(200);
    const delivery = listed.json<{ items: DeliveryBody[] }>().items.find((item) => item.orderId === orderId)!;
    expect(delivery).toMatchObject({
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      deliveredAt: null,
      nextAttemptAt: expect.any(String),
    });

    const retried = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry`,
    });
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ eventId: delivery.eventId, status: 'PENDING', attempts: 0 });

    await sql`UPDATE data_platform_outbox SET status = 'DELIVERED', delivered_at = now() WHERE event_id = ${delivery.eventId}`.execute(
      t.database.db,
    );
    expectProblem(
      await t.app.inject({ method: 'POST', url: `/api/v1/admin/data-platform/deliveries/${delivery.eventId}/retry` }),
      409,
      'ALREADY_DELIVERED',
    );
    expectProblem(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/data-platform/deliveries/5e0c1a52-7f0e-4e7b-9b0f-3d6c2a1b4f00/retry',
      }),
      404,
      'DELIVERY_NOT_FOUND',
    );
    expectProblem(
      await t.app.inject({ method: 'POST', url: '/api/v1/admin/data-platform/deliveries/42/retry' }),
      400,
      'INVALID_REQUEST',
    );
  });
});
