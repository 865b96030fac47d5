import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../../migrations/index.js';
import { migrateToLatest } from '../../../src/adapters/postgres/migrate.js';
import { insertUsers } from '../../support/fixtures.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

const database = useTestDatabase({ poolSize: 2 });

/** A campaign as migration 0005 left them, with `issued` counted and a copy for each of `holders`. */
async function campaign(issued: number, holders: number[]): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    INSERT INTO coupons (name, discount_type, discount_value, total_quantity, issued_quantity, valid_days, created_at)
    VALUES ('before stripes', 'FIXED', 1000, 5, ${issued}, 7, now()) RETURNING id`.execute(database.db);
  const id = Number(rows[0]!.id);
  for (const userId of holders) {
    await sql`
      INSERT INTO user_coupons (coupon_id, user_id, issued_at, expires_at)
      VALUES (${id}, ${userId}, now(), now() + interval '7 days')`.execute(database.db);
  }
  return id;
}

describe('migration 0006 on campaigns issued before the stripes', () => {
  it('refuses, naming them, campaigns whose copies do not match issued_quantity, and migrates once they do', async () => {
    const migrator = new Migrator({
      db: database.db,
      provider: { getMigrations: async () => migrations },
      migrationTableSchema: database.schema,
    });
    const { error } = await migrator.migrateTo('0005-accounts-and-sessions');
    expect(error).toBeUndefined();
    const [first, second, third] = await insertUsers(database.db, 3);
    const matching = await campaign(2, [first!, second!]);
    const fewerCopies = await campaign(3, [first!]);
    const moreCopies = await campaign(0, [third!]);

    const failed = migrateToLatest(database.db);

    await expect(failed).rejects.toThrow(
      `campaign ${fewerCopies} (issued_quantity 3, copies 1), campaign ${moreCopies} (issued_quantity 0, copies 1)`,
    );
    await expect(failed).rejects.not.toThrow(`campaign ${matching} `);
    await expect(
      scalar(database.db, sql`SELECT count(*)::int AS value FROM coupons WHERE issued_quantity IS NOT NULL`),
    ).resolves.toBe(3);

    await sql`
      UPDATE coupons c SET issued_quantity = (SELECT count(*) FROM user_coupons WHERE coupon_id = c.id)`.execute(
      database.db,
    );
    await expect(migrateToLatest(database.db)).resolves.toContain('0006-coupon-stripes');
    await expect(
      scalar(database.db, sql`SELECT sum(issued)::int AS value FROM coupon_stripes WHERE coupon_id = ${matching}`),
    ).resolves.toBe(2);
  });
});
