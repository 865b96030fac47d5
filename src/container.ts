import 'reflect-metadata';
import { type DependencyContainer, type InjectionToken, container as rootContainer, instanceCachingFactory } from 'tsyringe';
import { ChargeBalance } from './application/balance/charge-balance.js';
import { GetBalance } from './application/balance/get-balance.js';
import { GetBalanceHistory } from './application/balance/get-balance-history.js';
import type { BalanceQueries } from './application/ports/balance-queries.js';
import type { Clock } from './application/ports/clock.js';
import type { UnitOfWork } from './application/ports/unit-of-work.js';
import { CreateUser } from './application/user/create-user.js';
import type { AppDependencies } from './adapters/http/app.js';
import type { Db } from './adapters/postgres/database.js';
import { PgBalanceQueries } from './adapters/postgres/pg-balance-queries.js';
import { databaseIsReachable } from './adapters/postgres/pg-readiness.js';
import { PgUnitOfWork } from './adapters/postgres/pg-unit-of-work.js';
import { systemClock } from './adapters/system-clock.js';

/** One token per port. Use cases are registered under their own class. */
export const TOKENS = {
  Db: Symbol('Db') as InjectionToken<Db>,
  Clock: Symbol('Clock') as InjectionToken<Clock>,
  UnitOfWork: Symbol('UnitOfWork') as InjectionToken<UnitOfWork>,
  BalanceQueries: Symbol('BalanceQueries') as InjectionToken<BalanceQueries>,
};

export interface ContainerOptions {
  readonly db: Db;
  readonly clock?: Clock;
}

/**
 * The composition root: the only module that knows every piece. Factories, not decorators, so nothing
 * depends on emitDecoratorMetadata; each registration is built once, on first resolve.
 */
export function createContainer({ db, clock = systemClock }: ContainerOptions): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const single = <T>(token: InjectionToken<T>, build: (c: DependencyContainer) => T) =>
    c.register(token, { useFactory: instanceCachingFactory(build) });

  c.register(TOKENS.Db, { useValue: db });
  c.register(TOKENS.Clock, { useValue: clock });
  single(TOKENS.UnitOfWork, (r) => new PgUnitOfWork(r.resolve(TOKENS.Db)));
  single(TOKENS.BalanceQueries, (r) => new PgBalanceQueries(r.resolve(TOKENS.Db)));

  single(CreateUser, (r) => new CreateUser(r.resolve(TOKENS.UnitOfWork), r.resolve(TOKENS.Clock)));
  single(ChargeBalance, (r) => new ChargeBalance(r.resolve(TOKENS.UnitOfWork), r.resolve(TOKENS.Clock)));
  single(GetBalance, (r) => new GetBalance(r.resolve(TOKENS.BalanceQueries)));
  single(GetBalanceHistory, (r) => new GetBalanceHistory(r.resolve(TOKENS.BalanceQueries)));
  return c;
}

export function appDependencies(c: DependencyContainer): AppDependencies {
  const db = c.resolve(TOKENS.Db);
  return {
    createUser: c.resolve(CreateUser),
    chargeBalance: c.resolve(ChargeBalance),
    getBalance: c.resolve(GetBalance),
    getBalanceHistory: c.resolve(GetBalanceHistory),
    isReady: () => databaseIsReachable(db),
  };
}
