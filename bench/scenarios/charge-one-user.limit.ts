import type pg from 'pg';
import { MAX_BALANCE } from '../../src/domain/balance/balance.js';
import { outcome } from '../limits.js';

/** A charge: the guarded balance update and its ledger entry, one statement. */
export function chargeAtLimit(pool: pg.Pool, userId: number, amount: number): Promise<string> {
  return outcome(
    pool,
    `WITH charged AS (
       UPDATE balances SET amount = amount + $2, updated_at = now()
       WHERE user_id = $1 AND amount + $2 <= $3
       RETURNING user_id, amount, updated_at
     )
     INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
     SELECT user_id, 'CHARGE', $2, amount, NULL, updated_at FROM charged
     RETURNING balance_after`,
    [userId, amount, MAX_BALANCE],
    (rows) => (rows === 1 ? 'CHARGED' : 'BALANCE_LIMIT_EXCEEDED'),
  );
}
