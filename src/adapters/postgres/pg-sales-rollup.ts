import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from './database.js';
import { isCheckViolation, isUniqueViolation } from './pg-errors.js';

/**
 * Moves the units orders and cancellations appended to product_sales_pending into the product_daily_sales
 * rollup, oldest first. Readers read both through product_daily_sales_live, so folding changes what they
 * read in no way; it only keeps the pending rows few.
 *
 * One fold at a time per schema across every instance (a transaction-scoped advisory lock, which a
 * transaction-mode pooler keeps). A cancellation's row is written only after its order committed, so a fold
 * that sees it sees the order's row too, or an earlier fold took that one: the rollup never goes below
 * zero.
 */
export class PgSalesRollup {
  constructor(
    private readonly db: Db,
    readonly batchSize = 10_000,
  ) {}

  /**
   * Folds up to a batch in one statement; how many pending rows it folded (none while another fold runs).
   * Existing rollup rows are updated rather than upserted: PostgreSQL checks a proposed row's CHECK before
   * ON CONFLICT, and a batch may net negative units for a day whose sales an earlier batch folded. Rollup
   * rows are locked, and new ones inserted, by ascending product id, as writers of the rollup before
   * migration 0013 lock them: a fold and such a writer wait for each other without a cycle. A new row's
   * foreign key takes a key-share lock on its product, which only an admin's stock change blocks.
   */
  async fold(): Promise<number> {
    try {
      return await this.foldOnce();
    } catch (error) {
      // A fold whose snapshot predates the previous fold's commit (the lock is taken inside the statement)
      // misses the rollup rows that fold created and inserts them again, or a negative one; it writes
      // nothing, and the next fold, on a fresh snapshot, does the work.
      if (
        isUniqueViolation(error, 'product_daily_sales_pkey') ||
        isCheckViolation(error, 'product_daily_sales_quantity_check')
      )
        return 0;
      throw error;
    }
  }

  private async foldOnce(): Promise<number> {
    const { rows } = await sql<{ folded: number }>`
      WITH claimed AS (
        SELECT pg_try_advisory_xact_lock(hashtextextended('fold ' || current_schema() || '.product_sales_pending', 0)) AS ok
      ), taken AS (
        DELETE FROM product_sales_pending
        WHERE id IN (SELECT id FROM product_sales_pending WHERE (SELECT ok FROM claimed) ORDER BY id LIMIT ${this.batchSize})
        RETURNING sales_date, product_id, quantity
      ), summed AS (
        SELECT sales_date, product_id, sum(quantity)::bigint AS quantity FROM taken GROUP BY sales_date, product_id
      ), locked AS MATERIALIZED (
        SELECT r.sales_date, r.product_id FROM product_daily_sales r
        JOIN summed s ON r.sales_date = s.sales_date AND r.product_id = s.product_id
        ORDER BY r.product_id, r.sales_date
        FOR UPDATE OF r
      ), added AS (
        UPDATE product_daily_sales r SET quantity = r.quantity + s.quantity
        FROM summed s, locked l
        WHERE r.sales_date = s.sales_date AND r.product_id = s.product_id
          AND l.sales_date = r.sales_date AND l.product_id = r.product_id
        RETURNING r.sales_date, r.product_id
      ), created AS (
        INSERT INTO product_daily_sales (sales_date, product_id, quantity)
        SELECT s.sales_date, s.product_id, s.quantity FROM summed s
        WHERE s.quantity <> 0
          AND NOT EXISTS (SELECT FROM added a WHERE a.sales_date = s.sales_date AND a.product_id = s.product_id)
        ORDER BY s.product_id, s.sales_date
      )
      SELECT count(*)::int AS folded FROM taken`.execute(this.db);
    return rows[0]!.folded;
  }
}

export interface SalesFoldingOptions {
  /** The pause after a fold that found less than a full batch. */
  readonly intervalMs?: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Folds in the background: at once again while folds come back full, otherwise every `intervalMs`. A failed
 * fold is reported and tried again after the same pause. `stop` resolves once the fold in flight is done.
 */
export function startSalesFolding(
  rollup: PgSalesRollup,
  { intervalMs = 1_000, onError }: SalesFoldingOptions,
): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      let full = false;
      try {
        full = (await rollup.fold()) >= rollup.batchSize;
      } catch (error) {
        onError(error);
      }
      if (full) continue;
      await sleep(intervalMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
