import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChargeBalance } from '../../../src/application/balance/charge-balance.js';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { RunIdempotently } from '../../../src/application/idempotency/run-idempotently.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { CreateCoupon } from '../../../src/application/coupon/create-coupon.js';
import { CreateUser } from '../../../src/application/user/create-user.js';
import { PlaceOrder } from '../../../src/application/order/place-order.js';
import { CancelOrder } from '../../../src/application/order/cancel-order.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { scalar } from '../../support/test-database.js';
import { sql } from 'kysely';
import { createContainer } from '../../../src/container.js';
import { useTestDatabase } from '../../support/test-database.js';
import { seed } from '../../support/seed.js';

const database = useTestDatabase({ poolSize: 4 });

/** Every statement sent through a pool of its own, BEGIN and COMMIT included, as Kysely's log sees them. */
let sent: string[] = [];
let db: Db | undefined;

beforeAll(() => {
  db = createDb({
    url: database.url,
    schema: database.schema,
    poolSize: 4,
    log: (event) => {
      if (event.level === 'query') sent.push(event.query.sql.replace(/\s+/g, ' ').trim());
    },
  });
});
afterAll(async () => {
  await db?.destroy();
});

function useCases() {
  const c = createContainer({ repositories: { kind: 'POSTGRES', db: db! } });
  return {
    createUser: c.resolve(CreateUser),
    createCoupon: c.resolve(CreateCoupon),
    chargeBalance: c.resolve(ChargeBalance),
    issueCoupon: c.resolve(IssueCoupon),
    createProduct: c.resolve(CreateProduct),
    placeOrder: c.resolve(PlaceOrder),
    cancelOrder: c.resolve(CancelOrder),
    runIdempotently: c.resolve(RunIdempotently),
  };
}

/** What was sent from the first statement that writes `table` (and so takes its row lock) on. */
function fromTheLockOn(table: string): string[] {
  const first = sent.findIndex((statement) => new RegExp(`\\b(update|UPDATE) "?${table}"?\\b`).test(statement));
  expect(first, `no statement updated ${table}: ${sent.join(' | ')}`).toBeGreaterThanOrEqual(0);
  // A SELECT … FOR UPDATE before the write takes the lock earlier still.
  const locked = sent.findIndex(
    (statement, i) =>
      i < first && new RegExp(`from "?${table}"?`, 'i').test(statement) && /for update/i.test(statement),
  );
  return sent.slice(locked >= 0 ? locked : first);
}

const keyed = (userId: number, key: string) => ({ userId, key, route: 'POST /test', requestHash: 'hash' });
const keep = () => undefined;

describe('how long a hot row stays locked, in round trips to this process', () => {
  it('charges without a key in one autocommit statement: the balance row is locked inside the server only', async () => {
    const s = useCases();
    const { chargeBalance } = s;
    const user = await seed(s).user();

    sent = [];
    await chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 1_000 });

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^with .*update "?balances"?.*insert into "?balance_ledger"?/i);
  });

  it('places an order without a key in one read and one autocommit statement: no row locked across a round trip', async () => {
    const s = useCases();
    const { placeOrder } = s;
    const user = await seed(s).chargedUser(10_000);
    const product = await seed(s).product();

    sent = [];
    await placeOrder.execute({ actor: SYSTEM, userId: user.id, items: [{ productId: product.id, quantity: 1 }] });

    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toMatch(/for update/i);
    expect(sent[1]).toMatch(/^with .*for update.*update products .*insert into orders/i);
  });

  it('cancels in one transaction: the order, copy and balance locked in one statement, then the products in the write', async () => {
    const s = useCases();
    const { cancelOrder } = s;
    const user = await seed(s).chargedUser(10_000);
    const product = await seed(s).product();
    const order = await seed(s).order(user.id, [{ productId: product.id, quantity: 2 }]);

    sent = [];
    await cancelOrder.execute({ actor: SYSTEM, orderId: order.id, items: [{ productId: product.id, quantity: 1 }] });

    expect(sent[0]).toBe('BEGIN');
    expect(sent[1]).toMatch(
      /^with held as \(.*from orders .*for update\s*\), copy as materialized \(.*from user_coupons uc .*for update of uc\s*\), wallet as materialized \(.*from balances b .*for update of b/i,
    );
    const locking = sent.filter((statement) => /for (no key )?update/i.test(statement));
    expect(locking).toHaveLength(2);
    expect(locking[1]).toMatch(
      /from products p .*order by p\.id\s+for no key update of p.*insert into order_cancellations/i,
    );
    expect(sent.at(-1)).toBe('COMMIT');
  });

  it('charges under a key with the balance row locked by the last statement before the key’s, sent with COMMIT', async () => {
    const s = useCases();
    const { chargeBalance, runIdempotently } = s;
    const user = await seed(s).user();

    sent = [];
    await runIdempotently.execute(
      keyed(user.id, 'charge-key'),
      async () => ({ status: 200, body: await chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 1 }) }),
      keep,
    );

    const held = fromTheLockOn('balances');
    expect(held.slice(1)).toEqual([expect.stringMatching(/^INSERT INTO idempotency_keys .*; COMMIT$/)]);
  });

  it('issues a coupon under a key with its stripe locked by the last statement before the key’s, sent with COMMIT', async () => {
    const s = useCases();
    const { issueCoupon, runIdempotently } = s;
    const user = await seed(s).user();
    const coupon = await seed(s).coupon({ totalQuantity: 10 });

    sent = [];
    await runIdempotently.execute(
      keyed(user.id, 'issue-key'),
      async () => ({
        status: 201,
        body: await issueCoupon.execute({ actor: SYSTEM, couponId: coupon.id, userId: user.id }),
      }),
      keep,
    );

    const held = fromTheLockOn('coupon_stripes');
    expect(held.slice(1)).toEqual([expect.stringMatching(/^INSERT INTO idempotency_keys .*; COMMIT$/)]);
  });
});

describe('a key sent with COMMIT', () => {
  const record = (userId: number, key: string, body: unknown) => ({
    userId,
    key,
    route: 'POST /test {"id":1}',
    requestHash: 'hash',
    response: { status: 409, body },
    createdAt: new Date('2026-11-24T07:00:00.123Z'),
  });
  const uow = () => new PgUnitOfWork(db!);

  it('keeps every character of what it stores: quotes, backslashes, dollar quotes, any Unicode', async () => {
    const key = `it's a \\ "key" $$ $tag$ --`;
    const body = { detail: "O'Brien \\ \n 한글 😀 $$", list: [1, null, true], nested: { 'a"b': "c'd" } };

    await uow().run((repos) => repos.idempotencyKeys.save(record(1, key, body)));

    const stored = await uow().run((repos) => repos.idempotencyKeys.find(1, key, new Date(0)));
    expect(stored).toEqual(record(1, key, body));
  });

  it('forgets a key saved inside a savepoint that was rolled back', async () => {
    await uow().run(async () => {
      await uow()
        .run(async (repos) => {
          await repos.idempotencyKeys.save(record(2, 'rolled back', {}));
          throw new Error('undone');
        })
        .catch(() => undefined);
    });

    expect(await uow().run((repos) => repos.idempotencyKeys.find(2, 'rolled back', new Date(0)))).toBeUndefined();
  });

  it('fails the commit, effect and all, when the key cannot be stored', async () => {
    const s = useCases();
    const { chargeBalance } = s;
    const user = await seed(s).user();

    await expect(
      uow().run(async (repos) => {
        await chargeBalance.execute({ actor: SYSTEM, userId: user.id, amount: 1_000 });
        await repos.idempotencyKeys.save(record(user.id, 'k'.repeat(256), {})); // past the key's CHECK
      }),
    ).rejects.toThrow(/check constraint/);

    const balance = sql<{ value: number }>`SELECT amount AS value FROM balances WHERE user_id = ${user.id}`;
    expect(await scalar(db!, balance)).toBe(0);
  });
});
