import type { BalanceQueries } from '../../application/ports/balance-queries.js';
import type { BalanceCharges, BalanceRepository, ChargeOutcome } from '../../application/ports/balance-repository.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Balance, type BalanceChange, type Charge, type LedgerEntry } from '../../domain/balance/balance.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The new balance and its ledger entry, written together. */
function land(store: InMemoryStore, { balance, entry }: BalanceChange): LedgerEntry {
  store.state.balances.set(balance.userId, { ...balance });
  const saved = { ...entry, id: store.nextId('ledger') };
  store.state.ledger.push(saved);
  return saved;
}

export class InMemoryBalanceRepository implements BalanceRepository, BalanceQueries {
  constructor(private readonly store: InMemoryStore) {}

  // No port has `getByUserIdForUpdate` or `save`: the checkout and cancellation fakes still call them.

  async getByUserIdForUpdate(userId: number): Promise<Balance | undefined> {
    return this.findByUserId(userId);
  }

  async findByUserId(userId: number): Promise<Balance | undefined> {
    const record = this.store.state.balances.get(userId);
    return record && new Balance(record);
  }

  async add(balance: Balance): Promise<void> {
    if (!this.store.state.users.has(balance.userId)) throw new Error(`no user ${balance.userId}`);
    this.store.state.balances.set(balance.userId, { ...balance });
  }

  async save(change: BalanceChange): Promise<LedgerEntry> {
    return land(this.store, change);
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
 * The same guarded step as PostgreSQL's: it lands the charge only on a balance with room for it, else reads
 * the balance back. Run as a unit of work of its own (or as part of the open one), so it never interleaves
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
      land(this.store, change);
      return { applied: true, change };
    });
  }

  /** Already decided on a balance no one else touches meanwhile: the unit of work serialises it. */
  applyLocked(charge: Charge): Promise<ChargeOutcome> {
    return this.apply(charge);
  }
}
