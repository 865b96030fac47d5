import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { aChargedUser, aProduct, anOrder } from '../support/builders.js';
import { bearer, expectProblem, useTestApp } from '../support/test-app.js';

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
});
