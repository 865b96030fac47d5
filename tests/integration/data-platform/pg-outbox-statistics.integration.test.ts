import { sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type Db, createDb } from '../../../src/adapters/postgres/database.js';
import { PgOutboxStatistics } from '../../../src/adapters/postgres/pg-outbox-statistics.js';
import { useTestDatabase } from '../../support/test-database.js';
import { insertOutboxRows } from './outbox-rows.js';

const database = useTestDatabase({ poolSize: 4 });

beforeEach(async () => {
  await sql`DELETE FROM data_platform_outbox`.execute(database.db);
});

/** `count` outbox rows of new orders with plain SQL, in one statement: a history to scan past. */
async function insertManyRows(db: Db, count: number, status: 'DELIVERED' | 'PENDING'): Promise<void> {
  await sql`
    WITH buyer AS (INSERT INTO users (name, created_at) VALUES ('bulk buyer', now()) RETURNING id),
    placed AS (
      INSERT INTO orders (user_id, status, total_amount, discount_amount, paid_amount, created_at)
      SELECT buyer.id, 'PAID', 1000, 0, 1000, now() FROM buyer, generate_series(1, ${count})
      RETURNING id)
    INSERT INTO data_platform_outbox (order_id, payload, status, next_attempt_at, delivered_at, created_at)
    SELECT id, '{}'::jsonb, ${status}, now(), CASE WHEN ${status} = 'DELIVERED' THEN now() END, now() FROM placed`.execute(
    db,
  );
}

describe('PgOutboxStatistics', () => {
  it('counts PENDING and FAILED events and ages the oldest of each by the database clock; 0 when none', async () => {
    const statistics = new PgOutboxStatistics(database.db);
    expect(await statistics.backlog()).toEqual([
      { status: 'PENDING', events: 0, oldestAgeSeconds: 0, heldBack: 0 },
      { status: 'FAILED', events: 0, oldestAgeSeconds: 0, heldBack: 0 },
    ]);

    const [old, recent, parked, delivered] = await insertOutboxRows(database.db, 4);
    await sql`UPDATE data_platform_outbox SET created_at = now() - interval '1 hour' WHERE id = ${old!.id}`.execute(
      database.db,
    );
    await sql`UPDATE data_platform_outbox SET status = 'FAILED', created_at = now() - interval '2 hours'
      WHERE id = ${parked!.id}`.execute(database.db);
    await sql`UPDATE data_platform_outbox SET status = 'DELIVERED', delivered_at = now(), created_at = now() - interval '1 day'
      WHERE id = ${delivered!.id}`.execute(database.db);
    expect(recent).toBeDefined();

    const [pending, failed] = await statistics.backlog();
    expect(pending).toMatchObject({ status: 'PENDING', events: 2 });
    expect(pending!.oldestAgeSeconds).toBeGreaterThanOrEqual(3_600);
    expect(pending!.oldestAgeSeconds).toBeLessThan(3_660);
    expect(failed).toMatchObject({ status: 'FAILED', events: 1 });
    expect(failed!.oldestAgeSeconds).toBeGreaterThanOrEqual(7_200);
    expect(failed!.oldestAgeSeconds).toBeLessThan(7_260);
  });

  it('counts the PENDING events an undelivered earlier event of their order holds back', async () => {
    const statistics = new PgOutboxStatistics(database.db);
    const before = (await statistics.backlog())[0]!.heldBack;
    const [parked] = await insertOutboxRows(database.db, 1);
    const orderId = (
      await sql<{ order_id: number }>`SELECT order_id FROM data_platform_outbox WHERE id = ${parked!.id}`.execute(
        database.db,
      )
    ).rows[0]!.order_id;
    await sql`UPDATE data_platform_outbox SET status = 'FAILED' WHERE id = ${parked!.id}`.execute(database.db);
    // Two cancellations of that order, both waiting on its parked paid event.
    await sql`
      WITH cancelled AS (
        INSERT INTO order_cancellations (order_id, refund_amount, created_at)
        SELECT ${orderId}, 0, now() FROM generate_series(1, 2) RETURNING id)
      INSERT INTO data_platform_outbox (type, order_id, cancellation_id, payload, next_attempt_at, created_at)
      SELECT 'ORDER_CANCELLED', ${orderId}, id, '{}'::jsonb, now(), now() FROM cancelled`.execute(database.db);

    const [pending, failed] = await statistics.backlog();
    expect(pending!.heldBack - before).toBe(2);
    expect(failed!.heldBack).toBe(0);
  });

  describe('on a long delivered history', () => {
    const queries: string[] = [];
    let logged: Db;
    afterAll(async () => {
      await logged?.destroy();
    });

    it('reads only the undelivered rows, through indexes: no sequential scan, no walk of the primary key', async () => {
      await insertManyRows(database.db, 30_000, 'DELIVERED');
      await insertManyRows(database.db, 20, 'PENDING');
      await sql`UPDATE data_platform_outbox SET status = 'FAILED'
        WHERE id IN (SELECT id FROM data_platform_outbox WHERE status = 'PENDING' LIMIT 5)`.execute(database.db);
      await sql`ANALYZE data_platform_outbox`.execute(database.db);
      logged = createDb({
        url: database.url,
        schema: database.schema,
        poolSize: 1,
        log: (event) => void (event.level === 'query' && queries.push(event.query.sql)),
      });

      expect((await new PgOutboxStatistics(logged).backlog()).map((entry) => entry.events)).toEqual([15, 5]);
      expect(queries).toHaveLength(1);
      const { rows } = await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${queries[0]}`).execute(logged);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index (Only )?Scan/);
      expect(plan).not.toMatch(/Seq Scan|_pkey/);
    });
  });
});
