import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { LEGACY_SUPERUSER_PASSWORD, type Login, SUPERUSER } from './credentials.js';
import { hasExited, sameDirectory } from './processes.js';
import type { ServerAccount } from './server-account.js';

/** Where a server takes connections: its port, and the private directory of its Unix socket. */
export interface Where {
  readonly port: number;
  readonly socketDir: string;
}

/** The longest Unix socket path Linux takes (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * The server's socket directory, beside its data directory (`.data/postgres.socket`): made here, mode 0700,
 * owned by the server's account, so only that account and this one (the same one, or root) can reach it.
 */
export async function socketDirectoryFor(dataDir: string, port: number, account: ServerAccount): Promise<Where> {
  const socketDir = `${dataDir}.socket`;
  const socket = path.join(socketDir, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new Error(
      `the embedded PostgreSQL's socket would be ${socket}, longer than the ${MAX_SOCKET_PATH} bytes a Unix socket path may have: ` +
        'choose a shorter data directory (EMBEDDED_PG_DATA_DIR)',
    );
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(socketDir, 0o700);
  if (account.uid !== undefined) chownSync(socketDir, account.uid, account.gid!);
  return { port, socketDir };
}

/** How many sessions other than the one asking are connected to the server; 0 when it can't be asked. */
export async function otherClients(where: Where, superuser: Login): Promise<number> {
  try {
    return await withClient(clientOf(where, superuser), async (client) => {
      const { rows } = await client.query<{ others: number }>(
        `SELECT count(*)::int AS others FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return rows[0]?.others ?? 0;
    });
  } catch {
    return 0;
  }
}

export async function servesDataDir(where: Where, dataDir: string, superuser: Login): Promise<boolean> {
  const client = clientOf(where, superuser);
  try {
    await client.connect();
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    return rows[0] !== undefined && sameDirectory(rows[0].data_directory, dataDir);
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A connection to the server of `where`, through its private socket directory: never over TCP, where any
 * local process could have taken the port first and would be talked to (and given the password) instead.
 * The search path is pg_catalog's alone, whatever the database's settings say: the service's role owns the
 * shop's database and could otherwise point a superuser's unqualified names at functions of its own.
 */
export function clientOf(where: Where, { user, password }: Login, database = 'postgres'): pg.Client {
  return new pg.Client({
    host: where.socketDir,
    port: where.port,
    user,
    password,
    database,
    options: '-c search_path=pg_catalog',
  });
}

export async function withClient<T>(client: pg.Client, work: (client: pg.Client) => Promise<T>): Promise<T> {
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * How long a start waits for the server to take connections: pg_ctl's own default, since a server recovering
 * from a crash, or starting on a busy machine, may take far longer than a clean start on an idle one.
 */
const START_WAIT_MS = 60_000;

/** Until the server takes connections; a server started here that ends meanwhile fails this at once. */
async function waitUntilAccepting(where: Where, superuser: Login, server: ChildProcess | undefined): Promise<void> {
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    if (server && hasExited(server))
      throw new Error(`the embedded PostgreSQL exited during start-up (${server.exitCode ?? server.signalCode})`);
    const client = clientOf(where, superuser);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      // A wrong password is an answer: the server is up, and waiting won't change it.
      if (Date.now() >= deadline || (error as { code?: string }).code === '28P01') throw error;
      await sleep(100);
    }
  }
}

/**
 * Waits until the server takes the superuser's connections. Refused the password (28P01): when the old
 * well-known one still works, `legacy` completes that cluster's upgrade; otherwise the start fails with
 * `refused`'s error rather than a bare authentication failure.
 */
export async function acceptingWith(
  where: Where,
  superuser: Login,
  server: ChildProcess | undefined,
  on: { legacy: () => Promise<void>; refused: () => Error },
): Promise<void> {
  try {
    await waitUntilAccepting(where, superuser, server);
  } catch (error) {
    if ((error as { code?: string }).code !== '28P01' || superuser.password === LEGACY_SUPERUSER_PASSWORD) throw error;
    const legacy = clientOf(where, { user: SUPERUSER, password: LEGACY_SUPERUSER_PASSWORD });
    const stillLegacy = await legacy.connect().then(
      () => true,
      () => false,
    );
    await legacy.end().catch(() => undefined);
    if (!stillLegacy) throw on.refused();
    await on.legacy();
  }
}
