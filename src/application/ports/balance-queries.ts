import type { Balance, LedgerEntry } from '../../domain/balance/balance.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface BalanceQueries {
  findByUserId(userId: number): Promise<Balance | undefined>;
  /** Newest first; the page key is the entry id. */
  listLedger(userId: number, page: PageRequest): Promise<Page<LedgerEntry>>;
}
