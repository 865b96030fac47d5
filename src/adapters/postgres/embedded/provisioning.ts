import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import {
  type Credentials,
  LEGACY_SUPERUSER_PASSWORD,
  type Login,
  newPassword,
  SUPERUSER,
  writeCredentials,
} from './credentials.js';
import { clientOf, type Where, withClient } from './connection.js';

/**
 * A cluster made before its credentials were kept: its superuser has the well-known password, over cleartext
 * password authentication. The superuser gets a new password, every connection SCRAM, and the credentials
 * their file; the database's hand-over to the service's role follows (ensureOwnedDatabase).
 */
export async function upgradeLegacyCluster(
  dataDir: string,
  where: Where,
  credentialsFile: string,
  credentials: Credentials = { superuser: newPassword(), owner: newPassword() },
): Promise<Credentials> {
  const legacy: Login = { user: SUPERUSER, password: LEGACY_SUPERUSER_PASSWORD };
  await withClient(clientOf(where, legacy), async (client) => {
    writeCredentials(credentialsFile, credentials);
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    await client.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${client.escapeLiteral(credentials.superuser)}`);
    const hba = path.join(dataDir, 'pg_hba.conf');
    const lines = readFileSync(hba, 'utf8').split('\n');
    const scram = lines.map((line) =>
      /^\s*(local|host)/.test(line) ? line.replace(/\b(password|md5|trust)\s*$/, 'scram-sha-256') : line,
    );
    writeFileSync(hba, scram.join('\n'));
    await client.query('SELECT pg_reload_conf()');
  });
  return credentials;
}

/**
 * The service's role (a login with no other power) with the credentials' password, and `database` owned by
 * it with everything in it: a cluster upgraded from the superuser-only days has its tables handed over.
 */
export async function ensureOwnedDatabase(
  where: Where,
  superuser: Login,
  owner: Login,
  database: string,
): Promise<void> {
  await withClient(clientOf(where, superuser), async (client) => {
    const role = client.escapeIdentifier(owner.user);
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    const { rowCount: roles } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner.user]);
    if (roles === 0) await client.query(`CREATE ROLE ${role}`);
    await client.query(
      `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${client.escapeLiteral(owner.password)}`,
    );
    const { rows } = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [database],
    );
    const name = client.escapeIdentifier(database);
    if (rows[0] === undefined) return void (await client.query(`CREATE DATABASE ${name} OWNER ${role}`));
    if (rows[0].owner !== owner.user) await client.query(`ALTER DATABASE ${name} OWNER TO ${role}`);
    // Each start, in case one was cut short half-way: two catalog reads when there is nothing to hand over.
    await withClient(clientOf(where, superuser, database), (inDatabase) => handOver(inDatabase, owner.user));
  });
}

/** Every table, view and schema of the database's own that the superuser owns, to `owner` (their sequences follow). */
async function handOver(client: pg.Client, owner: string): Promise<void> {
  const role = client.escapeIdentifier(owner);
  const { rows: schemas } = await client.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace
      WHERE nspowner = $1::regrole AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`,
    [SUPERUSER],
  );
  for (const { name } of schemas) await client.query(`ALTER SCHEMA ${client.escapeIdentifier(name)} OWNER TO ${role}`);
  const { rows: relations } = await client.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relowner = $1::regrole AND c.relkind IN ('r', 'p', 'v')
        AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`,
    [SUPERUSER],
  );
  for (const { name } of relations) await client.query(`ALTER TABLE ${name} OWNER TO ${role}`);
}
