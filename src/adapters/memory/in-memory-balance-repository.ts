import type { BalanceQueries } from '../../application/ports/balance-queries.js';
import type { BalanceCharges, BalanceRepository, ChargeOutcome } from '../../application/ports/balance-repository.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Balance, type Charge, type LedgerEntry } from '../../domain/balance/balance.js';
import { balanceRow, landBalanceChange } from './in-memory-rows.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryBalanceRepository implements BalanceRepository, BalanceQueries {
  constructor(private readonly store: InMemoryStore) {}

  async findByUserId(userId: number): Promise<Balance | undefined> {
    return balanceRow(this.store, userId);
  }

  async add(balance: Balance): Promise<void> {
    if (!this.store.state.users.has(balance.userId)) throw new Error(`no user ${balance.userId}`);
    this.store.state.balances.set(balance.userId, { ...balance });
  }

  async listLedger(userId: number, { limit, after }: PageRequest): Promise<Page<LedgerEntry>> {
    const rows = this.store.state.ledger
      .filter((entry) => entry.userId === userId && (after === undefined || entry.id < after))
      .sort((a, b) => b.id - a.id)
      .slice(0, limit + 1);
    return pageFrom(rows, limit, (entry) => entry.id);
  }
}

/**
 * The same guarded step as PostgreSQL's: it lands the charge only on a balance with room for it, else refuses
 * with the balance it judged. Run as a unit of work of its own (or as part of the open one), so it never interleaves
 * with another unit of work's read and write of the balance.
 */
export class InMemoryBalanceCharges implements BalanceCharges {
  constructor(
    private readonly store: InMemoryStore,
    private readonly uow: UnitOfWork,
  ) {}

  apply(charge: Charge): Promise<ChargeOutcome> {
    return this.uow.run(async () => {
      const record = this.store.state.balances.get(charge.userId);
      if (!record || record.amount > charge.highestBalanceBefore) {
        return { applied: false, balance: record && new Balance(record) };
      }
      const change = charge.landedOn(record.amount);
      landBalanceChange(this.store, change);
      return { applied: true, change };
    });
  }
}
