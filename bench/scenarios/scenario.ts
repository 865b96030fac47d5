import type pg from 'pg';
import type { Row } from '../harness.js';
import type { HttpClient, HttpResult } from '../service.js';

export interface ScenarioContext {
  readonly http: HttpClient;
  /** The ceiling's connections: a pool of the same size as the service's. */
  readonly pg: pg.Pool;
  readonly concurrency: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(context: ScenarioContext): Promise<Row[]>;
}

/** The outcome of one request, as a word: the created status, or the problem's code. */
export function outcomeOf({ status, body }: HttpResult, success: number, word: string): string {
  if (status === success) return word;
  return typeof body.code === 'string' ? body.code : `HTTP_${status}`;
}

export function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Inserts users with their zero balances in one statement; the bench loads data in bulk, not per request. */
export async function insertUsers(pool: pg.Pool, count: number, prefix: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH created AS (
       INSERT INTO users (name, created_at) SELECT $2 || n, now() FROM generate_series(1, $1::int) AS n RETURNING id, created_at
     )
     INSERT INTO balances (user_id, amount, updated_at) SELECT id, 0, created_at FROM created RETURNING user_id AS id`,
    [count, prefix],
  );
  return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}

/** Runs `work` in a transaction on one connection of the pool, as the service's unit of work does. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
