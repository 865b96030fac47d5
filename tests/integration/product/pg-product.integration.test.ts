import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { seed, systemStamp } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase();
const actor = SYSTEM;

function productUseCases() {
  return appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db } }));
}

describe('products on PostgreSQL', () => {
  it('walks every product exactly once, by id ascending, whatever the page size', async () => {
    const s = productUseCases();
    const { listProducts } = s;
    const created: number[] = [];
    for (let i = 0; i < 23; i++) created.push((await seed(s).product()).id);

    for (const limit of [1, 7, 23, 100]) {
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await listProducts.execute({ page: { limit, after } });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((product) => product.id));
        if (page.nextAfter === null) break;
        after = page.nextAfter;
      }
      expect(seen.filter((id) => created.includes(id))).toEqual(created);
      expect(new Set(seen).size).toBe(seen.length);
    }
  });

  it('never takes stock below zero under 50 concurrent corrections of -1 on a stock of 20', async () => {
    const s = productUseCases();
    const { updateProduct } = s;
    const product = await seed(s).product({ stock: 20 });
    const audit = systemStamp('product.update');

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => updateProduct.execute({ actor, productId: product.id, stockDelta: -1, audit })),
    );

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(20);
    expect(await scalar(database.db, sql`SELECT stock AS value FROM products WHERE id = ${product.id}`)).toBe(0);
    // Every unit is accounted for: the adjustments add up to the stock that is left.
    expect(
      await scalar(
        database.db,
        sql`SELECT sum(delta) AS value FROM stock_adjustments WHERE product_id = ${product.id}`,
      ),
    ).toBe(0);
  });

  it('rejects negative stock at the database too', async () => {
    const product = await seed(productUseCases()).product();
    await expect(sql`UPDATE products SET stock = -1 WHERE id = ${product.id}`.execute(database.db)).rejects.toThrow(
      /check constraint/,
    );
  });
});
