import { sql } from 'kysely';
import type { TransactionalRepositories, UnitOfWork } from '../../application/ports/unit-of-work.js';
import { type Db, beginOf } from './database.js';
import { type OpenTransaction, currentTransaction, openTransaction, withSavepoint } from './pg-transaction-context.js';
import { PgAccountRepository } from './pg-account-repository.js';
import { PgAuditLog } from './pg-audit-log.js';
import { PgBalanceRepository } from './pg-balance-repository.js';
import { PgCancellationRepository } from './pg-cancellation-repository.js';
import { PgCheckoutRepository } from './pg-checkout-repository.js';
import { PgCouponRepository } from './pg-coupon-repository.js';
import { PgIdempotencyKeys } from './pg-idempotency-keys.js';
import { PgOutbox } from './pg-outbox.js';
import { PgProductRepository } from './pg-product-repository.js';
import { PgRefreshTokens } from './pg-refresh-tokens.js';
import { PgUserRepository } from './pg-user-repository.js';

/** Repositories bound to one transaction, each built the first time the work asks for it. */
class PgTransactionalRepositories implements TransactionalRepositories {
  #users?: PgUserRepository;
  #balances?: PgBalanceRepository;
  #products?: PgProductRepository;
  #coupons?: PgCouponRepository;
  #checkouts?: PgCheckoutRepository;
  #cancellations?: PgCancellationRepository;
  #outbox?: PgOutbox;
  #idempotencyKeys?: PgIdempotencyKeys;
  #accounts?: PgAccountRepository;
  #refreshTokens?: PgRefreshTokens;
  #auditLog?: PgAuditLog;

  constructor(private readonly trx: Db) {}

  get users() {
    return (this.#users ??= new PgUserRepository(this.trx));
  }
  get balances() {
    return (this.#balances ??= new PgBalanceRepository(this.trx));
  }
  get products() {
    return (this.#products ??= new PgProductRepository(this.trx));
  }
  get coupons() {
    return (this.#coupons ??= new PgCouponRepository(this.trx));
  }
  get checkouts() {
    return (this.#checkouts ??= new PgCheckoutRepository(this.trx));
  }
  get cancellations() {
    return (this.#cancellations ??= new PgCancellationRepository(this.trx));
  }
  get outbox() {
    return (this.#outbox ??= new PgOutbox(this.trx));
  }
  get idempotencyKeys() {
    return (this.#idempotencyKeys ??= new PgIdempotencyKeys(this.trx));
  }
  get accounts() {
    return (this.#accounts ??= new PgAccountRepository(this.trx));
  }
  get refreshTokens() {
    return (this.#refreshTokens ??= new PgRefreshTokens(this.trx));
  }
  get auditLog() {
    return (this.#auditLog ??= new PgAuditLog(this.trx));
  }
}

/** Read committed plus explicit row locks: each use case locks exactly the rows it changes. */
export class PgUnitOfWork implements UnitOfWork {
  constructor(private readonly db: Db) {}

  run<T>(work: (repos: TransactionalRepositories) => Promise<T>): Promise<T> {
    const open = currentTransaction();
    if (open) return withSavepoint(open, () => work(new PgTransactionalRepositories(open.trx)));
    // BEGIN and COMMIT by hand, so that COMMIT can carry the statements deferred to it (see `atCommit`).
    return this.db.connection().execute(async (connection) => {
      const trx = insideTransaction(connection);
      await sql.raw(beginOf(this.db)).execute(trx);
      try {
        const transaction: OpenTransaction = { trx, savepoints: 0, atCommit: [] };
        const result = await openTransaction(transaction, () => work(new PgTransactionalRepositories(trx)));
        await sql.raw([...transaction.atCommit, 'COMMIT'].join(';\n')).execute(trx);
        return result;
      } catch (error) {
        // If the connection itself died, the rollback fails too; the first error is the one that explains.
        await sql`ROLLBACK`.execute(trx).catch(() => undefined);
        throw error;
      }
    });
  }
}

/**
 * The unit of work's connection as its repositories get it: everything but `transaction()` and
 * `connection()`, which on a connection with BEGIN sent would commit the unit of work half-way (a nested
 * BEGIN only warns, and its COMMIT ends the outer transaction), as Kysely's own Transaction refuses them.
 */
function insideTransaction(connection: Db): Db {
  return new Proxy(connection, {
    get(target, name) {
      if (name === 'transaction' || name === 'connection')
        return () => {
          throw new Error(`${name}() inside a unit of work would end its transaction; join the unit of work instead`);
        };
      const value: unknown = Reflect.get(target, name);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
