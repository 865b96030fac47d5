import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'kysely';
import type { Db } from './database.js';

export interface OpenTransaction {
  readonly trx: Db;
  savepoints: number;
  /** Statements without parameters to send in the same message as COMMIT (see `atCommit`). */
  readonly atCommit: string[];
}

/**
 * The transaction the current unit of work runs in, for this async call chain only. Only `openTransaction`
 * (called by PgUnitOfWork.run) sets it. It lets a nested unit of work, a one-statement write such as
 * issuing a coupon, and every query adapter's reads join the outer transaction instead of taking a
 * connection of their own, which is what keeps an Idempotency-Key and its effect in one commit.
 */
const current = new AsyncLocalStorage<OpenTransaction>();

/**
 * Runs `write` on the current transaction inside a savepoint when there is one (so a failing statement
 * undoes only itself), else on `db` as a statement of its own.
 */
export async function inCurrentTransaction<T>(db: Db, write: (db: Db) => Promise<T>): Promise<T> {
  const open = current.getStore();
  return open ? withSavepoint(open, () => write(open.trx)) : write(db);
}

/**
 * A savepoint whose work succeeded is left as it is, not released: COMMIT releases it with the rest, and a
 * RELEASE would be one more round trip with whatever rows the work locked still held (a hot balance or
 * campaign stripe under an Idempotency-Key). Names never repeat within a transaction, so rolling back to an
 * outer savepoint still undoes an inner one left open.
 */
export async function withSavepoint<T>(open: OpenTransaction, work: () => Promise<T>): Promise<T> {
  const name = sql.id(`uow_${++open.savepoints}`);
  const deferred = open.atCommit.length;
  await sql`SAVEPOINT ${name}`.execute(open.trx);
  try {
    return await work();
  } catch (error) {
    open.atCommit.length = deferred;
    // If the connection itself died, the rollback fails too; the first error is the one that explains.
    await sql`ROLLBACK TO SAVEPOINT ${name}`.execute(open.trx).catch(() => undefined);
    throw error;
  }
}

export function currentTransaction(): OpenTransaction | undefined {
  return current.getStore();
}

/** Runs `work` with `open` as the current transaction of its async call chain. */
export function openTransaction<T>(open: OpenTransaction, work: () => Promise<T>): Promise<T> {
  return current.run(open, work);
}

/**
 * Sends `statement` (complete SQL, no parameters) in the same message as the current transaction's COMMIT,
 * when it is the last write of the unit of work and nothing it returns is needed: one round trip fewer, with
 * every row the transaction locked still held. False when no transaction is open on `trx`. A failure of the
 * statement fails the commit, so the transaction commits with it or not at all; a savepoint rolled back
 * forgets the statements deferred inside it.
 */
export function atCommit(trx: Db, statement: string): boolean {
  const open = current.getStore();
  if (open?.trx !== trx) return false;
  open.atCommit.push(statement);
  return true;
}

/**
 * Where a read should run: on the current transaction when there is one, else on the pool. A request
 * inside a unit of work (an Idempotency-Key's, say) already holds a connection; a read that asked the
 * pool for another could wait forever once every connection is held that way.
 */
export function readerFor(db: Db): Db {
  return current.getStore()?.trx ?? db;
}

/**
 * Where a one-statement write runs whose failure fails the whole request (nothing a caller answers from):
 * on the current transaction when there is one, with no savepoint of its own, since whoever opened that
 * transaction rolls it back (or back to their own savepoint); else on `db`, a statement that commits by
 * itself. Without the savepoint, a hot row it locks is not held across a SAVEPOINT and RELEASE besides.
 */
export function writerFor(db: Db): Db {
  return current.getStore()?.trx ?? db;
}
