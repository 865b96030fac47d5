import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import { InMemoryStore } from '../../../src/adapters/memory/in-memory-store.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { seed } from '../../support/seed.js';

/** The in-memory shop with two paid orders, and a platform (the logging client) that refuses the second. */
async function shopWithTwoOrders() {
  let refusedOrderId = 0;
  const container = createContainer({
    repositories: { kind: 'IN_MEMORY', store: new InMemoryStore() },
    dataPlatform: {
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      log: (_message, { orderId }) => {
        if (orderId === refusedOrderId) throw new Error('POST http://platform.test/orders answered 503');
      },
    },
  });
  const shop = appDependencies(container);
  const make = seed(shop);
  const user = await make.chargedUser(10_000);
  const product = await make.product({ price: 1_000 });
  const items = [{ productId: product.id, quantity: 1 }];
  await make.order(user.id, items);
  refusedOrderId = (await make.order(user.id, items)).id;
  return { deliverDueEvents: container.resolve(DeliverDueEvents), metrics: shop.metrics };
}

const sample = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((line) => line.startsWith(`${series} `))
      ?.split(' ')[1],
  );

describe('delivery outcomes in the metrics', () => {
  it('counts each recorded outcome: delivered, a retry scheduled, then parked after the last attempt', async () => {
    const { deliverDueEvents, metrics } = await shopWithTwoOrders();
    const attempts = (outcome: string) => `shop_outbox_delivery_attempts_total{outcome="${outcome}"}`;

    const before = await metrics.scrape();
    expect(
      [attempts('DELIVERED'), attempts('RETRY_SCHEDULED'), attempts('PARKED')].map((s) => sample(before, s)),
    ).toEqual([0, 0, 0]);

    await deliverDueEvents.execute();
    const first = await metrics.scrape();
    expect(
      [attempts('DELIVERED'), attempts('RETRY_SCHEDULED'), attempts('PARKED')].map((s) => sample(first, s)),
    ).toEqual([1, 1, 0]);
    expect(sample(first, 'shop_outbox_backlog_events{status="PENDING"}')).toBe(1);

    await sleep(20); // past the 1 ms backoff
    await deliverDueEvents.execute();
    const second = await metrics.scrape();
    expect(
      [attempts('DELIVERED'), attempts('RETRY_SCHEDULED'), attempts('PARKED')].map((s) => sample(second, s)),
    ).toEqual([1, 1, 1]);
    expect(sample(second, 'shop_outbox_backlog_events{status="PENDING"}')).toBe(0);
    expect(sample(second, 'shop_outbox_backlog_events{status="FAILED"}')).toBe(1);
  });
});
