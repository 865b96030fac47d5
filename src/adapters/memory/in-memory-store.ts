import type { LedgerEntry } from '../../domain/balance/balance.js';
import type { User } from '../../domain/user/user.js';

export interface BalanceRecord {
  userId: number;
  amount: number;
  updatedAt: Date;
}

/** Plain data only, so a unit of work can snapshot it with structuredClone and roll back. */
export interface InMemoryState {
  users: Map<number, User>;
  balances: Map<number, BalanceRecord>;
  ledger: LedgerEntry[];
  sequences: Record<string, number>;
}

/** The tables of the in-memory adapters: for unit tests of use cases and for demos, never production. */
export class InMemoryStore {
  state: InMemoryState = {
    users: new Map(),
    balances: new Map(),
    ledger: [],
    sequences: {},
  };

  nextId(sequence: string): number {
    const next = (this.state.sequences[sequence] ?? 0) + 1;
    this.state.sequences[sequence] = next;
    return next;
  }
}
