import type { BalanceCharges, BalanceRepository, ChargeOutcome } from '../../application/ports/balance-repository.js';
import { Balance, type Charge, type LedgerEntry } from '../../domain/balance/balance.js';
import { type Db, prepared } from './database.js';
import { currentTransaction, writerFor } from './pg-transaction-context.js';
import type { BalanceLedgerTable, BalancesTable } from './tables.js';
import { type Selectable, sql } from 'kysely';

export function toBalance(row: Selectable<BalancesTable>): Balance {
  return new Balance({ userId: row.user_id, amount: row.amount, updatedAt: row.updated_at });
}

export function toLedgerEntry(row: Selectable<BalanceLedgerTable>): LedgerEntry {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    amount: row.amount,
    balanceAfter: row.balance_after,
    orderId: row.order_id,
    createdAt: row.created_at,
  };
}

export class PgBalanceRepository implements BalanceRepository {
  constructor(private readonly db: Db) {}

  async add(balance: Balance): Promise<void> {
    await this.db
      .insertInto('balances')
      .values({ user_id: balance.userId, amount: balance.amount, updated_at: balance.updatedAt })
      .execute();
  }
}

export class PgBalanceCharges implements BalanceCharges {
  constructor(private readonly db: Db) {}

  /**
   * One statement: the UPDATE lands the charge only on a balance with room for it (the guard the domain
   * states), and the INSERT writes its ledger entry only if it did, with the balance it made. Without a
   * key it commits by itself, so the balance row is locked from the UPDATE to the statement's own commit
   * inside the server, never across a round trip to this process; concurrent charges queue on the row lock
   * and PostgreSQL re-reads the row, and judges the guard again, once each gets it. Under an
   * Idempotency-Key it joins that request's transaction, with no savepoint: it has no failure to answer
   * from. Refused, the charge is decided again on the row locked: a payment may have made room since the
   * guard judged it, and the refusal must carry a balance it was refused on.
   */
  async apply(charge: Charge): Promise<ChargeOutcome> {
    const landed = await this.guarded(writerFor(this.db), charge);
    if (landed) return landed;
    const open = currentTransaction();
    if (open) return this.lockedOn(open.trx, charge);
    return this.db.transaction().execute((trx) => this.lockedOn(trx, charge));
  }

  /** `SELECT … FOR UPDATE` of the balance row, then the guarded statement on it: nothing changes between. */
  private async lockedOn(db: Db, charge: Charge): Promise<ChargeOutcome> {
    const row = await db
      .selectFrom('balances')
      .selectAll()
      .where('user_id', '=', charge.userId)
      .forUpdate()
      .executeTakeFirst();
    const landed = row && row.amount <= charge.highestBalanceBefore && (await this.guarded(db, charge));
    return landed || { applied: false, balance: row && toBalance(row) };
  }

  /**
   * The charge landed with its ledger entry, or undefined when the guard refused it. Written as SQL text,
   * not built: every charge runs it, and Kysely's builder costs more CPU per call than the text does.
   */
  private async guarded(db: Db, charge: Charge): Promise<ChargeOutcome | undefined> {
    const { entry } = charge;
    const { rows } = await prepared(
      'charge',
      sql<{ balance_after: number }>`
      WITH charged AS (
        UPDATE balances SET amount = amount + ${charge.amount}::bigint, updated_at = ${charge.at}::timestamptz
        WHERE user_id = ${charge.userId}::bigint AND amount <= ${charge.highestBalanceBefore}::bigint
        RETURNING user_id, amount
      )
      INSERT INTO balance_ledger (user_id, type, amount, balance_after, order_id, created_at)
      SELECT user_id, ${entry.type}, ${entry.amount}::bigint, amount, ${entry.orderId}::bigint,
             ${entry.createdAt}::timestamptz
      FROM charged
      RETURNING balance_after`,
    ).execute(db);
    const row = rows[0];
    return row && { applied: true, change: charge.landedOn(row.balance_after - charge.amount) };
  }
}
