import type { TransactionalRepositories, UnitOfWork } from '../../application/ports/unit-of-work.js';
import type { Db } from './database.js';
import { PgBalanceRepository } from './pg-balance-repository.js';
import { PgCouponRepository } from './pg-coupon-repository.js';
import { PgProductRepository } from './pg-product-repository.js';
import { PgUserRepository } from './pg-user-repository.js';

/** Repositories bound to one transaction, each built the first time the work asks for it. */
class PgTransactionalRepositories implements TransactionalRepositories {
  #users?: PgUserRepository;
  #balances?: PgBalanceRepository;
  #products?: PgProductRepository;
  #coupons?: PgCouponRepository;

  constructor(private readonly trx: Db) {}

  get users(): PgUserRepository {
    return (this.#users ??= new PgUserRepository(this.trx));
  }

  get balances(): PgBalanceRepository {
    return (this.#balances ??= new PgBalanceRepository(this.trx));
  }

  get products(): PgProductRepository {
    return (this.#products ??= new PgProductRepository(this.trx));
  }

  get coupons(): PgCouponRepository {
    return (this.#coupons ??= new PgCouponRepository(this.trx));
  }
}

/** Read committed plus explicit row locks: each use case locks exactly the rows it changes. */
export class PgUnitOfWork implements UnitOfWork {
  constructor(private readonly db: Db) {}

  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new PgTransactionalRepositories(trx)));
  }
}
