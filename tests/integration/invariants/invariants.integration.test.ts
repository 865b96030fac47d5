import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelOrder } from '../../../src/application/order/cancel-order.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import { UpdateProduct } from '../../../src/application/product/update-product.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { checkInvariants } from '../../../src/adapters/postgres/invariants.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { seed, systemStamp } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();
const actor = SYSTEM;
const TZ = 'Asia/Seoul';

/** A small shop after a realistic day: charges, restocks, coupons, orders paid and refused, cancellations. */
beforeAll(async () => {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, timeZone: TZ });
  const make = seed(appDependencies(c));
  const users = await Promise.all(Array.from({ length: 4 }, () => make.chargedUser(200_000)));
  const products = await Promise.all([5, 8, 3].map((stock, i) => make.product({ price: 9_000 + i * 1_000, stock })));
  const audit = systemStamp('product.update');
  await c.resolve(UpdateProduct).execute({ actor, productId: products[2]!.id, stockDelta: 4, audit });
  const coupon = await make.coupon({ discountType: 'PERCENT', discountValue: 10, totalQuantity: 3 });
  const copies = await Promise.allSettled(users.map((user) => make.issued(coupon.id, user.id)));
  const placeOrder = c.resolve(PlaceOrder);
  await Promise.allSettled(
    users.flatMap((user, i) => {
      const copy = copies[i]?.status === 'fulfilled' ? copies[i].value.id : undefined;
      return [
        placeOrder.execute({
          actor,
          userId: user.id,
          items: [
            { productId: products[0]!.id, quantity: 2 },
            { productId: products[1]!.id, quantity: 1 },
          ],
          userCouponId: copy,
        }),
        placeOrder.execute({ actor, userId: user.id, items: [{ productId: products[2]!.id, quantity: 3 }] }),
        placeOrder.execute({ actor, userId: user.id, items: [{ productId: products[1]!.id, quantity: 50 }] }), // refused: stock
      ];
    }),
  );
  // The first coupon order cancelled in full (its copy freed), another by two requests at once, the rest in part.
  const cancelOrder = c.resolve(CancelOrder);
  const paid = await database.db
    .selectFrom('orders')
    .select(['id', 'user_id', 'user_coupon_id'])
    .orderBy('id')
    .execute();
  const withCopy = paid.find((order) => order.user_coupon_id !== null)!;
  await cancelOrder.execute({ actor, orderId: withCopy.id });
  const others = paid.filter((order) => order.id !== withCopy.id);
  const partly = async (orderId: number) => {
    const line = await database.db
      .selectFrom('order_lines')
      .select('product_id')
      .where('order_id', '=', orderId)
      .executeTakeFirstOrThrow();
    return cancelOrder.execute({ actor, orderId, items: [{ productId: line.product_id, quantity: 1 }] });
  };
  await Promise.allSettled([
    cancelOrder.execute({ actor, orderId: others[0]!.id }),
    cancelOrder.execute({ actor, orderId: others[0]!.id }),
    ...others.slice(1).map((order) => partly(order.id)),
  ]);
});

async function broken(): Promise<string[]> {
  return (await checkInvariants(database.db, TZ))
    .filter((result) => !result.holds)
    .map((result) => result.name.split(':')[0]!);
}

describe('the invariant checker', () => {
  it('finds every invariant holding after a realistic day of concurrent work', async () => {
    const results = await checkInvariants(database.db, TZ);
    expect(results).toHaveLength(12);
    expect(results.filter((result) => !result.holds)).toEqual([]);
    const orders = await database.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(orders.n).toBeGreaterThanOrEqual(4);
    const cancellations = await database.db
      .selectFrom('order_cancellations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(cancellations.n).toBeGreaterThanOrEqual(3);
  });

  it.each([
    [
      'a balance changed behind the ledger',
      sql`UPDATE balances SET amount = amount + 1 WHERE user_id = (SELECT min(user_id) FROM balances)`,
      sql`UPDATE balances SET amount = amount - 1 WHERE user_id = (SELECT min(user_id) FROM balances)`,
      ['money', 'ledger'],
    ],
    [
      'stock appearing from nowhere',
      sql`UPDATE products SET stock = stock + 1 WHERE id = (SELECT min(id) FROM products)`,
      sql`UPDATE products SET stock = stock - 1 WHERE id = (SELECT min(id) FROM products)`,
      ['stock'],
    ],
    [
      'a coupon count off by one (a stripe counting a copy that is not there)',
      sql`UPDATE coupon_stripes SET quantity = quantity + 1, issued = issued + 1 WHERE stripe = 0`,
      sql`UPDATE coupon_stripes SET quantity = quantity - 1, issued = issued - 1 WHERE stripe = 0`,
      ['coupons'],
    ],
    [
      "a campaign's stripes holding more than its totalQuantity",
      sql`UPDATE coupon_stripes SET quantity = quantity + 1 WHERE stripe = 0`,
      sql`UPDATE coupon_stripes SET quantity = quantity - 1 WHERE stripe = 0`,
      ['coupons'],
    ],
    [
      'a payment amount changed',
      sql`UPDATE payments SET amount = amount + 1 WHERE id = (SELECT min(id) FROM payments)`,
      sql`UPDATE payments SET amount = amount - 1 WHERE id = (SELECT min(id) FROM payments)`,
      ['money', 'orders'],
    ],
    [
      'a refund off by one won',
      sql`UPDATE order_cancellations SET refund_amount = refund_amount + 1
          WHERE id = (SELECT min(id) FROM order_cancellations WHERE refund_amount > 0)`,
      sql`UPDATE order_cancellations SET refund_amount = refund_amount - 1
          WHERE id = (SELECT min(id) FROM order_cancellations WHERE refund_amount > 0)`,
      ['cancellations', 'outbox'],
    ],
    [
      'a restock of more units than were cancelled',
      sql`UPDATE stock_adjustments SET delta = delta + 1
          WHERE id = (SELECT min(id) FROM stock_adjustments WHERE reason = 'CANCELLATION')`,
      sql`UPDATE stock_adjustments SET delta = delta - 1
          WHERE id = (SELECT min(id) FROM stock_adjustments WHERE reason = 'CANCELLATION')`,
      ['stock'],
    ],
    [
      'an admin restock that names no audit entry',
      sql`WITH restock AS (
            INSERT INTO stock_adjustments (product_id, delta, reason, created_at)
            SELECT min(id), 1, 'ADJUSTMENT', now() FROM products RETURNING product_id
          )
          UPDATE products SET stock = stock + 1 FROM restock WHERE products.id = restock.product_id`,
      sql`WITH gone AS (
            DELETE FROM stock_adjustments WHERE id = (SELECT max(id) FROM stock_adjustments) RETURNING product_id
          )
          UPDATE products SET stock = stock - 1 FROM gone WHERE products.id = gone.product_id`,
      ['admin stock'],
    ],
    [
      'an admin correction other than its audit entry says',
      sql`UPDATE stock_adjustments SET delta = delta + 1
          WHERE id = (SELECT max(id) FROM stock_adjustments WHERE reason = 'ADJUSTMENT')`,
      sql`UPDATE stock_adjustments SET delta = delta - 1
          WHERE id = (SELECT max(id) FROM stock_adjustments WHERE reason = 'ADJUSTMENT')`,
      ['stock', 'admin stock'],
    ],
    [
      "a product's initial stock that names an entry of another action",
      sql`UPDATE stock_adjustments SET audit_entry_id = (SELECT min(id) FROM audit_log WHERE action = 'user.create')
          WHERE id = (SELECT min(id) FROM stock_adjustments WHERE reason = 'INITIAL' AND audit_entry_id IS NOT NULL)`,
      sql`UPDATE stock_adjustments a SET audit_entry_id = e.id
          FROM audit_log e
          WHERE a.id = (SELECT min(id) FROM stock_adjustments WHERE reason = 'INITIAL' AND audit_entry_id IS NOT NULL)
            AND e.action = 'product.create' AND (e.target ->> 'id')::bigint = a.product_id`,
      ['admin stock'],
    ],
    [
      'a cancelled order still holding its coupon copy',
      sql`UPDATE user_coupons u SET used_at = o.created_at, order_id = o.id
          FROM orders o WHERE o.user_coupon_id = u.id AND o.status = 'CANCELLED'`,
      sql`UPDATE user_coupons u SET used_at = NULL, order_id = NULL
          FROM orders o WHERE o.user_coupon_id = u.id AND o.status = 'CANCELLED'`,
      ['cancellations'],
    ],
    [
      "a cancellation's event telling the platform another refund",
      sql`UPDATE data_platform_outbox SET payload = jsonb_set(payload, '{refundAmount}', '999999')
          WHERE id = (SELECT min(id) FROM data_platform_outbox WHERE type = 'ORDER_CANCELLED')`,
      sql`UPDATE data_platform_outbox x
          SET payload = jsonb_set(payload, '{refundAmount}', to_jsonb(c.refund_amount))
          FROM order_cancellations c
          WHERE c.id = x.cancellation_id AND x.id = (SELECT min(id) FROM data_platform_outbox WHERE type = 'ORDER_CANCELLED')`,
      ['outbox'],
    ],
    [
      'a sale not yet folded counted twice',
      sql`UPDATE product_sales_pending SET quantity = quantity * 2 WHERE id = (SELECT min(id) FROM product_sales_pending)`,
      sql`UPDATE product_sales_pending SET quantity = quantity / 2 WHERE id = (SELECT min(id) FROM product_sales_pending)`,
      ['popular rollup'],
    ],
    [
      'a folded sale nobody made',
      sql`INSERT INTO product_daily_sales (sales_date, product_id, quantity) SELECT '2001-01-01', min(id), 1 FROM products`,
      sql`DELETE FROM product_daily_sales WHERE sales_date = '2001-01-01'`,
      ['popular rollup'],
    ],
  ])('catches %s, and holds again once it is put back', async (_label, corrupt, restore, expected) => {
    await corrupt.execute(database.db);
    expect(await broken()).toEqual(expected);
    await restore.execute(database.db);
    expect(await broken()).toEqual([]);
  });

  it.each([
    ['a paid order', 'ORDER_PAID'],
    ['a cancellation', 'ORDER_CANCELLED'],
  ] as const)('catches %s whose outbox row is gone', async (_label, type) => {
    const row = await database.db
      .selectFrom('data_platform_outbox')
      .selectAll()
      .where('type', '=', type)
      .orderBy('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    await database.db.deleteFrom('data_platform_outbox').where('id', '=', row.id).execute();
    expect(await broken()).toEqual(['outbox']);
    await database.db
      .insertInto('data_platform_outbox')
      .values({
        type: row.type,
        order_id: row.order_id,
        cancellation_id: row.cancellation_id,
        payload: JSON.stringify(row.payload),
        next_attempt_at: row.next_attempt_at,
        created_at: row.created_at,
      })
      .execute();
    expect(await broken()).toEqual([]);
  });

  it('catches an audited stock change whose adjustment is missing, and holds once the adjustment is there', async () => {
    const product = await database.db
      .selectFrom('products')
      .select(['id', 'stock'])
      .orderBy('id')
      .limit(1)
      .executeTakeFirstOrThrow();
    // The log is append-only: the entry stays, and what puts it right is the adjustment it names.
    const entry = await database.db
      .insertInto('audit_log')
      .values({
        action: 'product.update',
        target: JSON.stringify({ type: 'product', id: product.id }),
        before: JSON.stringify({ stock: product.stock }),
        after: JSON.stringify({ stock: product.stock + 2 }),
        request_id: 'invariants-test',
        actor_id: null,
        trace_id: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(await broken()).toEqual(['admin stock']);

    await database.db
      .insertInto('stock_adjustments')
      .values({
        product_id: product.id,
        delta: 2,
        reason: 'ADJUSTMENT',
        created_at: new Date(),
        audit_entry_id: entry.id,
      })
      .execute();
    await database.db
      .updateTable('products')
      .set({ stock: product.stock + 2 })
      .where('id', '=', product.id)
      .execute();
    expect(await broken()).toEqual([]);
  });

  it('catches a login holding two live refresh tokens, and holds once that login has ended', async () => {
    const family = await database.db
      .insertInto('refresh_token_families')
      .values((eb) => ({
        user_id: eb.selectFrom('users').select((inner) => inner.fn.min('id').as('id')),
        created_at: new Date(),
        expires_at: new Date(Date.now() + 60_000),
      }))
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto('refresh_tokens')
      .values([1, 2].map((n) => ({ token_hash: Buffer.alloc(32, n), family_id: family.id, created_at: new Date() })))
      .execute();
    expect(await broken()).toEqual(['sessions']);
    await database.db
      .updateTable('refresh_token_families')
      .set({ ended_at: new Date() })
      .where('id', '=', family.id)
      .execute();
    expect(await broken()).toEqual([]);
  });
});
