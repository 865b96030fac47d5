import { ChargeBalance } from '../../src/application/balance/charge-balance.js';
import { GetBalance } from '../../src/application/balance/get-balance.js';
import { GetBalanceHistory } from '../../src/application/balance/get-balance-history.js';
import { CreateUser } from '../../src/application/user/create-user.js';
import { InMemoryBalanceRepository } from '../../src/adapters/memory/in-memory-balance-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';

/** The use cases wired to in-memory adapters and a manual clock, as a unit test needs them. */
export function inMemoryShop(start?: string) {
  const store = new InMemoryStore();
  const clock = new ManualClock(start);
  const uow = new InMemoryUnitOfWork(store);
  const balances = new InMemoryBalanceRepository(store);
  return {
    store,
    clock,
    createUser: new CreateUser(uow, clock),
    chargeBalance: new ChargeBalance(uow, clock),
    getBalance: new GetBalance(balances),
    getBalanceHistory: new GetBalanceHistory(balances),
  };
}
