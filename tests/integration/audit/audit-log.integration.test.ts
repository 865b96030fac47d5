import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../../migrations/index.js';
import { RedeliverEvent } from '../../../src/application/data-platform/delivery-operations.js';
import { RetryDelivery } from '../../../src/application/data-platform/retry-delivery.js';
import { CreateProduct } from '../../../src/application/product/create-product.js';
import { UpdateProduct } from '../../../src/application/product/update-product.js';
import type { Actor } from '../../../src/application/shared/actor.js';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { checkInvariants } from '../../../src/adapters/postgres/invariants.js';
import { migrateToLatest } from '../../../src/adapters/postgres/migrate.js';
import { PgDeliveryStore } from '../../../src/adapters/postgres/pg-delivery-store.js';
import { PgUnitOfWork } from '../../../src/adapters/postgres/pg-unit-of-work.js';
import { createContainer } from '../../../src/container.js';
import { insertOutboxRows } from '../data-platform/outbox-rows.js';
import { insertUsers } from '../../support/fixtures.js';
import { systemStamp } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 4 });

const count = (table: 'audit_log' | 'products' | 'stock_adjustments', db: Db = database.db) =>
  scalar(db, sql`SELECT count(*)::int AS value FROM ${sql.table(table)}`);

/** An administrator as a use case sees one: the entry's actor_id names its user. */
async function anAdmin(db: Db = database.db): Promise<Actor> {
  const [userId] = await insertUsers(db, 1);
  return { role: 'ADMIN', userId: userId! };
}

/** An ADMIN actor whose user does not exist: its entry's foreign key fails, after the effect was written. */
const aVanishedAdmin: Actor = { role: 'ADMIN', userId: 2 ** 40 };

/**
 * Runs `work` as the role that owns audit_log, in a transaction rolled back afterwards. The tests' role ran
 * the migrations, so it is the owner, as the service's role is; a superuser (a server given by
 * TEST_DATABASE_URL, or a container's) is bound by no privilege, so the tables are handed to a plain role for
 * the transaction, which takes over the privileges the migration left the owner.
 */
async function asTheOwner(work: (db: Db) => Promise<void>): Promise<void> {
  const rollback = new Error('rolled back');
  const run = database.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ superuser: boolean }>`
      SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`.execute(trx);
    if (rows[0]!.superuser) {
      const owner = sql.id(`audit_owner_${Date.now()}`);
      await sql`CREATE ROLE ${owner} NOSUPERUSER NOLOGIN`.execute(trx);
      await sql`GRANT USAGE ON SCHEMA ${sql.id(database.schema)} TO ${owner}`.execute(trx);
      // The two tables a TRUNCATE ... CASCADE of the log reaches, as the service's role owns them.
      for (const table of ['audit_log', 'stock_adjustments'])
        await sql`ALTER TABLE ${sql.table(table)} OWNER TO ${owner}`.execute(trx);
      await sql`SET LOCAL ROLE ${owner}`.execute(trx);
    }
    await work(trx);
    throw rollback;
  });
  await expect(run).rejects.toBe(rollback);
}

/** The error `statement` fails with, in a savepoint so the transaction goes on. */
async function refusal(db: Db, statement: ReturnType<typeof sql>): Promise<string> {
  await sql`SAVEPOINT attempt`.execute(db);
  try {
    await statement.execute(db);
    return 'it was allowed';
  } catch (error) {
    await sql`ROLLBACK TO SAVEPOINT attempt`.execute(db);
    return (error as Error).message;
  }
}

const CHANGES = [
  ['UPDATE', sql`UPDATE audit_log SET request_id = 'rewritten'`],
  ['UPDATE of the id', sql`UPDATE audit_log SET id = DEFAULT`],
  ['DELETE', sql`DELETE FROM audit_log`],
  // CASCADE: stock_adjustments names entries, and a plain TRUNCATE stops at that foreign key first.
  ['TRUNCATE', sql`TRUNCATE audit_log CASCADE`],
] as const;

describe('the audit log in PostgreSQL', () => {
  it("refuses the service's role UPDATE, DELETE and TRUNCATE by privilege, and by trigger once it grants them back", async () => {
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db } });
    await c.resolve(CreateProduct).execute({
      actor: await anAdmin(),
      name: 'Kept',
      price: 100,
      stock: 1,
      audit: systemStamp('product.create'),
    });
    const entries = await count('audit_log');
    expect(entries).toBeGreaterThan(0);

    await asTheOwner(async (db) => {
      const byPrivilege = [];
      for (const [what, statement] of CHANGES) byPrivilege.push([what, await refusal(db, statement)]);
      // The identity column stays updatable (foreign keys lock an entry with it), and the trigger refuses it.
      expect(byPrivilege).toEqual([
        ['UPDATE', expect.stringMatching(/permission denied for table audit_log/)],
        ['UPDATE of the id', expect.stringMatching(/audit_log is append-only: UPDATE refused/)],
        ['DELETE', expect.stringMatching(/permission denied for table audit_log/)],
        ['TRUNCATE', expect.stringMatching(/permission denied for table audit_log/)],
      ]);

      // An owner may grant itself what was revoked: the trigger still holds.
      await sql`GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO CURRENT_USER`.execute(db);
      const byTrigger = [];
      for (const [what, statement] of CHANGES) byTrigger.push([what, await refusal(db, statement)]);
      expect(byTrigger).toEqual([
        ['UPDATE', expect.stringMatching(/append-only: UPDATE refused/)],
        ['UPDATE of the id', expect.stringMatching(/append-only: UPDATE refused/)],
        ['DELETE', expect.stringMatching(/append-only: DELETE refused/)],
        ['TRUNCATE', expect.stringMatching(/append-only: TRUNCATE refused/)],
      ]);
      expect(await count('audit_log', db)).toBe(entries);
    });
    expect(await count('audit_log')).toBe(entries);
  });

  it('commits a product, its entry and its initial stock naming the entry together, or none of them', async () => {
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db } });
    const create = c.resolve(CreateProduct);
    const before = { entries: await count('audit_log'), products: await count('products') };

    // The entry is written after the product: its failure (an actor that is no user) takes the product back too.
    await expect(
      create.execute({
        actor: aVanishedAdmin,
        name: 'Lost',
        price: 100,
        stock: 3,
        audit: systemStamp('product.create'),
      }),
    ).rejects.toThrow(/foreign key/);
    expect({ entries: await count('audit_log'), products: await count('products') }).toEqual(before);

    const admin = await anAdmin();
    const product = await create.execute({
      actor: admin,
      name: 'Found',
      price: 100,
      stock: 3,
      audit: { action: 'product.create', requestId: 'req-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
    });
    const row = await database.db
      .selectFrom('audit_log as e')
      .innerJoin('stock_adjustments as a', 'a.audit_entry_id', 'e.id')
      .select(['e.actor_id', 'e.action', 'e.target', 'e.after', 'e.request_id', 'e.trace_id', 'a.delta', 'a.reason'])
      .where('a.product_id', '=', product.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      actor_id: admin.role === 'ADMIN' ? admin.userId : null,
      action: 'product.create',
      target: { type: 'product', id: product.id },
      after: { name: 'Found', price: 100, stock: 3 },
      request_id: 'req-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      delta: 3,
      reason: 'INITIAL',
    });
  });

  it("dates an entry by the database's clock, not the caller's", async () => {
    const c = createContainer({
      repositories: { kind: 'POSTGRES', db: database.db },
      clock: { now: () => new Date('2001-01-01T00:00:00.000Z') },
    });
    const product = await c.resolve(CreateProduct).execute({
      actor: await anAdmin(),
      name: 'Dated',
      price: 100,
      stock: 0,
      audit: systemStamp('product.create'),
    });
    const { rows } = await sql<{ late: boolean }>`
      SELECT at > now() - interval '1 minute' AS late FROM audit_log
      WHERE action = 'product.create' AND (target ->> 'id')::bigint = ${product.id}`.execute(database.db);
    expect(rows).toEqual([{ late: true }]);
  });

  it('dates and numbers an entry itself, whatever an insert of its own says', async () => {
    const entry = sql`'{"type": "product", "id": 1}'::jsonb, NULL, NULL, 'req-forged'`;
    const dated = await sql<{ late: boolean }>`
      INSERT INTO audit_log (at, action, target, before, after, request_id)
      VALUES ('2001-01-01T00:00:00Z', 'product.update', ${entry})
      RETURNING at > now() - interval '1 minute' AS late`.execute(database.db);
    expect(dated.rows).toEqual([{ late: true }]);
    await expect(
      sql`INSERT INTO audit_log (id, action, target, before, after, request_id) OVERRIDING SYSTEM VALUE
          VALUES (0, 'product.update', ${entry})`.execute(database.db),
    ).rejects.toThrow(/numbers its own entries/);
  });

  it("keeps a delivery's retry and redelivery with their entry: an entry that fails undoes the step", async () => {
    const [failed] = await insertOutboxRows(database.db, 1);
    await database.db
      .updateTable('data_platform_outbox')
      .set({ status: 'FAILED', attempts: 10, last_error: 'down' })
      .where('id', '=', failed!.id)
      .execute();
    const uow = new PgUnitOfWork(database.db);
    const store = new PgDeliveryStore(database.db);
    const retry = new RetryDelivery(uow, store);
    const redeliver = new RedeliverEvent(uow, store);
    const stateOf = () =>
      database.db
        .selectFrom('data_platform_outbox')
        .select(['status', 'attempts', 'generation'])
        .where('id', '=', failed!.id)
        .executeTakeFirstOrThrow();
    const parked = await stateOf();

    const { eventId } = failed!;
    await expect(
      retry.execute({ actor: aVanishedAdmin, eventId, audit: systemStamp('delivery.retry') }),
    ).rejects.toThrow(/foreign key/);
    await expect(
      redeliver.execute({ actor: aVanishedAdmin, eventId, audit: systemStamp('delivery.redeliver') }),
    ).rejects.toThrow(/foreign key/);
    expect(await stateOf()).toEqual(parked);

    const admin = await anAdmin();
    const entries = await count('audit_log');
    await expect(retry.execute({ actor: admin, eventId, audit: systemStamp('delivery.retry') })).resolves.toMatchObject(
      {
        status: 'PENDING',
        attempts: 0,
      },
    );
    expect(await stateOf()).toEqual({ status: 'PENDING', attempts: 0, generation: parked.generation + 1 });
    const entry = await database.db
      .selectFrom('audit_log')
      .select(['action', 'target', 'before', 'after'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(await count('audit_log')).toBe(entries + 1);
    expect(entry).toEqual({
      action: 'delivery.retry',
      target: { type: 'delivery', id: eventId },
      before: { status: 'FAILED', attempts: 10, nextAttemptAt: null },
      after: { status: 'PENDING', attempts: 0, nextAttemptAt: expect.any(String) },
    });
  });

  it('writes no entry and no adjustment when a correction would take stock below zero', async () => {
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db } });
    const actor = await anAdmin();
    const product = await c
      .resolve(CreateProduct)
      .execute({ actor, name: 'Scarce', price: 100, stock: 2, audit: systemStamp('product.create') });
    const before = { entries: await count('audit_log'), adjustments: await count('stock_adjustments') };

    await expect(
      c.resolve(UpdateProduct).execute({
        actor,
        productId: product.id,
        price: 200,
        stockDelta: -3,
        audit: systemStamp('product.update'),
      }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });

    expect({ entries: await count('audit_log'), adjustments: await count('stock_adjustments') }).toEqual(before);
  });
});

describe('npm run check on the audit log', () => {
  it('leaves the stock rows from before migration 0015 alone, and holds each admin stock change since to its entry', async () => {
    // A shop of its own, started before the audit log existed.
    const schema = `${database.schema}_before_audit`;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
    const db = createDb({ url: database.url, schema, poolSize: 2 });
    try {
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => migrations },
        migrationTableSchema: schema,
      });
      expect((await migrator.migrateTo('0014-delivery-order-and-attempts')).error).toBeUndefined();
      await sql`
        WITH made AS (
          INSERT INTO products (name, price, stock, created_at, updated_at)
          VALUES ('Old stock', 100, 7, now(), now()) RETURNING id, stock
        )
        INSERT INTO stock_adjustments (product_id, delta, reason, created_at) SELECT id, stock, 'INITIAL', now() FROM made
      `.execute(db);
      await migrateToLatest(db);

      const c = createContainer({ repositories: { kind: 'POSTGRES', db } });
      const actor = await anAdmin(db);
      const product = await c
        .resolve(CreateProduct)
        .execute({ actor, name: 'New stock', price: 100, stock: 4, audit: systemStamp('product.create') });
      await c
        .resolve(UpdateProduct)
        .execute({ actor, productId: product.id, stockDelta: 2, audit: systemStamp('product.update') });
      const adminStock = async () =>
        (await checkInvariants(db, 'Asia/Seoul')).find((result) => result.name.startsWith('admin stock'))!;

      await expect(adminStock()).resolves.toMatchObject({ holds: true });
      expect(await count('stock_adjustments', db)).toBe(3);

      // A restock written behind the use case's back, as an instance still on the old code would.
      await sql`
        INSERT INTO stock_adjustments (product_id, delta, reason, created_at)
        VALUES (${product.id}, 5, 'ADJUSTMENT', now())`.execute(db);
      await expect(adminStock()).resolves.toMatchObject({
        holds: false,
        violations: 1,
        examples: [{ product_id: product.id, reason: 'ADJUSTMENT', adjusted: 5, audit_entry_id: null }],
      });
    } finally {
      await db.destroy();
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    }
  });

  it('holds a stock row written without its entry to it even before any row names an entry', async () => {
    const schema = `${database.schema}_fresh`;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
    const db = createDb({ url: database.url, schema, poolSize: 2 });
    try {
      await migrateToLatest(db);
      const [product] = (
        await sql<{ id: number }>`
          WITH made AS (
            INSERT INTO products (name, price, stock, created_at, updated_at)
            VALUES ('Behind its back', 100, 3, now(), now()) RETURNING id, stock
          )
          INSERT INTO stock_adjustments (product_id, delta, reason, created_at)
          SELECT id, stock, 'INITIAL', now() FROM made RETURNING product_id AS id`.execute(db)
      ).rows;
      const adminStock = (await checkInvariants(db, 'Asia/Seoul')).find((result) =>
        result.name.startsWith('admin stock'),
      )!;
      expect(adminStock).toMatchObject({
        holds: false,
        examples: [{ product_id: Number(product!.id), reason: 'INITIAL', adjusted: 3, audit_entry_id: null }],
      });
    } finally {
      await db.destroy();
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    }
  });

  it('reports an append-only trigger that was disabled', async () => {
    const appendOnly = async () =>
      (await checkInvariants(database.db, 'Asia/Seoul')).find((result) => result.name.startsWith('audit log'))!;
    await expect(appendOnly()).resolves.toMatchObject({ holds: true });
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(database.db);
    try {
      await expect(appendOnly()).resolves.toMatchObject({
        holds: false,
        examples: [{ trigger: 'audit_log_append_only' }],
      });
    } finally {
      await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(database.db);
    }
  });
});
