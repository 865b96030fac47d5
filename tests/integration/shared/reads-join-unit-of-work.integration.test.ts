import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { PgAuditLogQueries } from '../../../src/adapters/postgres/pg-audit-log.js';
import { PgBalanceQueries } from '../../../src/adapters/postgres/pg-balance-queries.js';
import { PgCouponQueries } from '../../../src/adapters/postgres/pg-coupon-repository.js';
import { PgOrderQueries } from '../../../src/adapters/postgres/pg-order-repository.js';
import { PgProductQueries } from '../../../src/adapters/postgres/pg-product-repository.js';
import { PgSalesStatistics } from '../../../src/adapters/postgres/pg-sales-statistics.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { PgUserRepository } from '../../../src/adapters/postgres/pg-user-repository.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();

/**
 * A pool of one connection: while a unit of work holds it, a read that asked the pool for another would
 * wait out the timeout and fail. Every query adapter must read on the open unit of work instead.
 */
let single: Db;
beforeAll(() => {
  single = createDb({ url: database.url, schema: database.schema, poolSize: 1, connectionTimeoutMs: 500 });
});
afterAll(async () => {
  await single.destroy();
});

describe('query adapters inside a unit of work', () => {
  const reads: [name: string, read: (db: Db) => Promise<unknown>][] = [
    ['balances', (db) => new PgBalanceQueries(db).findByUserId(1)],
    ['ledger', (db) => new PgBalanceQueries(db).listLedger(1, { limit: 5 })],
    ['products', (db) => new PgProductQueries(db).findById(1)],
    ['product list', (db) => new PgProductQueries(db).list({ limit: 5 })],
    ['coupons', (db) => new PgCouponQueries(db).findById(1)],
    ['user coupons', (db) => new PgCouponQueries(db).listUserCoupons(1, { now: new Date() }, { limit: 5 })],
    ['orders', (db) => new PgOrderQueries(db).findById(1)],
    ['user orders', (db) => new PgOrderQueries(db).listByUser(1, { limit: 5 })],
    ['users', (db) => new PgUserRepository(db).exists(1)],
    ['sales', (db) => new PgSalesStatistics(db).topSellers('2026-11-29', '2026-12-01', 5)],
    ['audit log', (db) => new PgAuditLogQueries(db).list({ action: 'product.update' }, { limit: 5 })],
  ];

  it.each(reads)('%s: reads on the open transaction, never a second connection', async (_name, read) => {
    // Through the pool this would reject after 500 ms: the one connection is the unit of work's.
    await expect(new PgUnitOfWork(single).run(() => read(single))).resolves.not.toBeInstanceOf(Error);
  });

  it('sees what the unit of work wrote before it commits', async () => {
    const products = new PgProductQueries(single);
    const seen = await new PgUnitOfWork(single).run(async (repos) => {
      const product = await repos.products.add({ name: 'Uncommitted kettle', price: 100, stock: 1 }, new Date());
      return products.findById(product.id);
    });
    expect(seen?.name).toBe('Uncommitted kettle');
  });

  it('reads on the pool when no unit of work is open', async () => {
    await expect(new PgProductQueries(single).findById(999_999)).resolves.toBeUndefined();
  });
});
