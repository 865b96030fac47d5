import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import type { Db } from './database.js';
import { DeadlinePassed, type ReplicaSet, withDeadline } from './replicas.js';
import type { Database } from './tables.js';

/**
 * Whether a replica's failure may be the replica's own, so the primary answers the query instead: anything
 * but an error the query itself causes wherever it runs (SQLSTATE classes 22, 23 and 42: bad data, a broken
 * constraint, bad SQL). A replica unreachable, refusing its login, cancelling the query to replay the
 * primary's changes, or too slow (past the deadline or its statement timeout, as a replica waiting on replay
 * can be) is passed over; a catalog read is a read, so asking the primary changes nothing.
 */
function replicaFailed(error: unknown): boolean {
  if (error instanceof DeadlinePassed) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^(22|23|42)/.test(code));
}

const run = <R>(db: Db, query: CompiledQuery): Promise<QueryResult<R>> =>
  db.getExecutor().provideConnection((connection) => connection.executeQuery<R>(query));

/** Each query on a replica fresh enough, else on the primary; never a transaction (see readsFromReplicas). */
class ReadRoutingDriver implements Driver {
  private readonly connection: DatabaseConnection;

  constructor(primary: Db, replicas: ReplicaSet) {
    this.connection = {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        const replica = replicas.pick();
        if (replica) {
          try {
            const result = await withDeadline(run<R>(replica.db, query), replicas.deadlineMs);
            replicas.recordRead(replica.name);
            return result;
          } catch (error) {
            if (!replicaFailed(error)) throw error;
            replicas.markDown(replica, error);
          }
        }
        const result = await run<R>(primary, query);
        replicas.recordRead('primary');
        return result;
      },
      streamQuery(): never {
        throw new Error('reads from replicas are not streamed');
      },
    };
  }

  async init(): Promise<void> {}

  /** One connection for every caller: it holds none itself, each query borrows one where it runs. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }

  beginTransaction(): Promise<void> {
    return Promise.reject(new Error('reads from replicas run outside transactions; a unit of work reads the primary'));
  }

  commitTransaction(): Promise<void> {
    return this.beginTransaction();
  }

  rollbackTransaction(): Promise<void> {
    return this.beginTransaction();
  }

  async releaseConnection(): Promise<void> {}

  /** The primary's and the replicas' pools belong to whoever made them. */
  async destroy(): Promise<void> {}
}

/**
 * A database for the reads that may lag (the catalog): each query on a replica at most the set's bound
 * behind, in turn, and on the primary when none is or when the one picked fails. Inside a unit of work the
 * adapters read on its transaction (readerFor), on the primary, so nobody reads older data than they wrote.
 */
export function readsFromReplicas(primary: Db, replicas: ReplicaSet): Db {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new ReadRoutingDriver(primary, replicas),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}
