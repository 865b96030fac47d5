import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readKeptSecret, replaceSecret } from '../../secrets/secret-files.js';

export const SUPERUSER = 'postgres';
/** The role the service connects as: it owns the shop's database and everything in it, and nothing more. */
export const OWNER = 'shop';
/** What clusters made before the credentials file existed have as the superuser's password. */
export const LEGACY_SUPERUSER_PASSWORD = 'postgres';

export interface Login {
  readonly user: string;
  readonly password: string;
}

export interface Credentials {
  readonly superuser: string;
  readonly owner: string;
}

/**
 * Where a cluster's passwords are kept: in the secrets directory beside its data directory
 * (`.data/secrets/postgres.credentials.json` for `.data/postgres`; see adapters/secrets), mode 0600, readable
 * by the account that runs the service, not by the server's.
 */
export function credentialsFileOf(dataDir: string): string {
  const resolved = path.resolve(dataDir);
  return path.join(path.dirname(resolved), 'secrets', `${path.basename(resolved)}.credentials.json`);
}

/** Where versions before the secrets directory kept them: beside the data directory. */
export const legacyCredentialsFileOf = (dataDir: string) => `${path.resolve(dataDir)}.credentials.json`;

export const newPassword = () => randomBytes(24).toString('base64url');

/**
 * The cluster's credentials: read from the secrets directory, moved there from where older versions kept
 * them if they pass the same checks (see adapters/secrets), or undefined when there are none yet.
 */
export function readCredentials(file: string, legacy: string): Credentials | undefined {
  const text = readKeptSecret(file, { legacy })?.text;
  if (text === undefined) return undefined;
  let parsed: Partial<Credentials>;
  try {
    parsed = JSON.parse(text) as Partial<Credentials>;
  } catch {
    // JSON.parse's message quotes the text around the fault, which here is a password.
    throw new Error(`${file} is not valid JSON; it should hold the embedded server's credentials`);
  }
  if (typeof parsed.superuser !== 'string' || typeof parsed.owner !== 'string')
    throw new Error(`${file} does not hold the embedded server's credentials ({ "superuser", "owner" })`);
  return { superuser: parsed.superuser, owner: parsed.owner };
}

export function writeCredentials(file: string, credentials: Credentials): void {
  replaceSecret(file, `${JSON.stringify(credentials, null, 2)}\n`);
}
