/**
 * The limits: what PostgreSQL itself does for a scenario's work in the fewest round trips,
 * through pg at the bench's concurrency and pool size, each statement autocommitted. A hot row is one
 * guarded UPDATE … RETURNING per request; an order is all of its writes in one statement. They are
 * yardsticks written only for the bench, not the service's code, and each run is checked like the service's
 * (see the scenarios), so a broken yardstick can't flatter a ratio. A statement is sent as the service sends
 * its own: prepared (`named`) for the charge and the coupon claim, unnamed for an order and a cancellation;
 * the one-row reference unnamed, as `pgbench` does by default.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { MAX_BALANCE } from '../src/domain/balance/balance.js';
import { type Row, type Stats, row, runLoad, scaled, statsOf } from './harness.js';
import { insertUsers } from './scenarios/scenario.js';

// Each scenario's own limit is in the file beside it (scenarios/<name>.limit.ts); here are the reference
// every ratio divides by and what the limits share.

const ONE_ROW_UPDATES = scaled(10_000, 200);

/** A statement sent prepared: each connection parses and plans it once, then only binds and runs it. */
export function named(text: string, values: unknown[]): pg.QueryConfig {
  return { name: `limit_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`, text, values };
}

/** Runs one statement, prepared; an error becomes the outcome `ERROR …`, so a run counts it instead of stopping. */
export async function outcome(pool: pg.Pool, sql: string, values: unknown[], word: (rows: number) => string) {
  try {
    const { rowCount } = await pool.query(named(sql, values));
    return word(rowCount ?? 0);
  } catch (error) {
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The reference every target is a ratio of: a guarded one-row UPDATE … RETURNING on one hot row (a fresh
 * user's balance), like pgbench with the bench's pool of connections. Checked: every update returned a
 * distinct amount, 1 to N, and the row ends at N.
 */
export async function oneRowReference(
  pool: pg.Pool,
  concurrency: number,
  when: 'first' | 'last',
): Promise<{ stats: Stats; row: Row }> {
  const [userId] = await insertUsers(pool, 1, 'one-row ');
  const run = await runLoad(`one-row (reference, ${when})`, ONE_ROW_UPDATES, concurrency, async () => {
    try {
      const { rows } = await pool.query<{ amount: string }>(
        'UPDATE balances SET amount = amount + 1 WHERE user_id = $1 AND amount + 1 <= $2 RETURNING amount',
        [userId, MAX_BALANCE],
      );
      return rows[0] ? Number(rows[0].amount) : 0;
    } catch {
      return 0;
    }
  });
  const returned = new Set(run.samples.map((sample) => sample.value).filter((amount) => amount > 0));
  const { rows } = await pool.query<{ amount: string }>('SELECT amount FROM balances WHERE user_id = $1', [userId]);
  const stored = Number(rows[0]!.amount);
  const exact = returned.size === ONE_ROW_UPDATES && stored === ONE_ROW_UPDATES;
  const stats = statsOf(run.samples, run.elapsedMs);
  return {
    stats,
    row: row(
      `one-row (reference, ${when})`,
      stats,
      ONE_ROW_UPDATES - returned.size,
      null,
      `pg, autocommit; row at ${stored}, ${returned.size} distinct amounts returned of ${ONE_ROW_UPDATES}`,
      exact,
      { write: true },
    ),
  };
}
