import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, createDb, prepared } from '../../../src/adapters/postgres/database.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { CreateUser } from '../../../src/application/user/create-user.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { CreateCoupon } from '../../../src/application/coupon/create-coupon.js';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import { createContainer } from '../../../src/container.js';
import { seed } from '../../support/seed.js';
import { useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

/** Pools of one connection, so the statements it prepared are the ones pg_prepared_statements shows. */
let opened: Db[] = [];
function onePool(preparedStatements: boolean): Db {
  const db = createDb({ url: database.url, schema: database.schema, poolSize: 1, preparedStatements });
  opened.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(opened.map((db) => db.destroy()));
  opened = [];
});

async function preparedOn(db: Db): Promise<{ name: string; statement: string }[]> {
  const { rows } = await sql<{ name: string; statement: string }>`
    SELECT name, statement FROM pg_prepared_statements WHERE NOT from_sql ORDER BY prepare_time`.execute(db);
  return rows;
}

describe('statements marked prepared', () => {
  it('are prepared once per connection and run again by name, with their own values each time', async () => {
    const db = onePool(true);

    const answers = [];
    for (const value of [1, 2, 3])
      answers.push(
        (await prepared('doubled', sql<{ doubled: number }>`SELECT ${value}::int * 2 AS doubled`).execute(db)).rows,
      );
    await sql`SELECT 1 AS unmarked`.execute(db);

    expect(answers).toEqual([[{ doubled: 2 }], [{ doubled: 4 }], [{ doubled: 6 }]]);
    expect(await preparedOn(db)).toEqual([
      { name: expect.stringMatching(/^doubled_/), statement: 'SELECT $1::int * 2 AS doubled /* prepared: doubled */' },
    ]);
  });

  it('are sent unnamed by a pool made without prepared statements, as a transaction pooler needs', async () => {
    const db = onePool(false);

    await prepared('one', sql`SELECT ${1}::int AS one`).execute(db);

    expect(await preparedOn(db)).toEqual([]);
  });

  it('include a charge and the read of an order, not its statement that locks several rows', async () => {
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: onePool(true) } });
    const s = {
      createUser: c.resolve(CreateUser),
      createProduct: c.resolve(CreateProduct),
      chargeBalance: c.resolve(ChargeBalance),
      createCoupon: c.resolve(CreateCoupon),
      issueCoupon: c.resolve(IssueCoupon),
      placeOrder: c.resolve(PlaceOrder),
    };
    const user = await seed(s).user();
    const product = await seed(s).product({ price: 1_000, stock: 5 });

    await s.chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 5_000 });
    await s.placeOrder.execute({ actor: SYSTEM, userId: user.id, items: [{ productId: product.id, quantity: 1 }] });

    const statements = await preparedOn(opened[0]!);
    expect(statements.map(({ name }) => name.replace(/_.*$/, ''))).toEqual(['charge', 'checkout-read']);
    expect(statements[1]!.statement).toMatch(/^\s*WITH copy AS MATERIALIZED .*nextval/s);
  });
});
