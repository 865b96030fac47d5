import type { Balance, LedgerEntry } from '../../domain/balance/balance.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Reads that need no lock and no transaction. */
export interface BalanceQueries {
  findByUserId(userId: number): Promise<Balance | undefined>;
  /** Newest first; the page key is the entry id. */
  listLedger(userId: number, page: PageRequest): Promise<Page<LedgerEntry>>;
}
