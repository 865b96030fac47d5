import { sql } from 'kysely';
import type { Db } from '../../src/adapters/postgres/database.js';

/** Many users at once, each with its zero balance, for storms; returns their ids in order. */
export async function insertUsers(db: Db, count: number): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    WITH created AS (
      INSERT INTO users (name, created_at) SELECT 'storm user ' || n, now() FROM generate_series(1, ${count}) AS n RETURNING id, created_at
    )
    INSERT INTO balances (user_id, amount, updated_at) SELECT id, 0, created_at FROM created RETURNING user_id AS id`.execute(
    db,
  );
  return rows.map((row) => row.id).sort((a, b) => a - b);
}
