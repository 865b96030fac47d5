import type { Balance, BalanceChange, LedgerEntry } from '../../domain/balance/balance.js';

/** Writes, inside a unit of work. */
export interface BalanceRepository {
  /** Locks the balance row until the unit of work ends, so changes to one user's balance are serialised. */
  getByUserIdForUpdate(userId: number): Promise<Balance | undefined>;
  add(balance: Balance): Promise<void>;
  /** Stores the new balance and appends its ledger entry: the two are never written apart. */
  save(change: BalanceChange): Promise<LedgerEntry>;
}
