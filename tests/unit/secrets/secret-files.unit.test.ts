import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SecretFileRefused,
  checkPrivate,
  readOrCreateSecret,
  readSecret,
  replaceSecret,
} from '../../../src/adapters/secrets/secret-files.js';

/**
 * Another local user. The service runs as root in the deployments this guards (README), and these tests chown
 * files to this uid as the attacker's planted files would be owned.
 */
const STRANGER = 12345;
/** Only root can give a file away; as anyone else, ownership is covered by the checkPrivate tests alone. */
const asRoot = process.getuid?.() === 0;
/** A case of a planted file: its name, how it is planted at a path, and what the refusal says. */
type Planting = [string, (path: string) => void, RegExp];
/** `rows`, when this process can chown; none otherwise. */
const whenRoot = (...rows: Planting[]): Planting[] => (asRoot ? rows : []);
/** `rows`, when this process is bound by file modes (root reads any directory). */
const whenNotRoot = (...rows: Planting[]): Planting[] => (asRoot ? [] : rows);

const root = mkdtempSync(join(tmpdir(), 'secret-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let cases = 0;
/** A fresh shared directory (the parent of a data directory) and the secrets directory inside it. */
function place() {
  const shared = join(root, `case-${++cases}`);
  mkdirSync(shared, { recursive: true });
  return { shared, secrets: join(shared, 'secrets') };
}

const modeOf = (path: string) => lstatSync(path).mode & 0o777;
/** A file of ours with mode 0600 at `path`, as an attacker's would start before it is chowned or chmodded. */
function planted(path: string): string {
  writeFileSync(path, 'planted', { mode: 0o600 });
  return path;
}
let made = 0;
const make = () => `secret-${++made}`;

describe('checkPrivate', () => {
  it("refuses a file or directory owned by a user other than the one it checks for, naming that user's uid", () => {
    const { shared } = place();
    const file = planted(join(shared, 'demo-password'));
    const ours = lstatSync(file).uid;
    expect(() => checkPrivate(file, lstatSync(file), 'file', ours)).not.toThrow();
    expect(() => checkPrivate(file, lstatSync(file), 'file', ours + 1)).toThrow(
      `refusing ${file}: it is owned by uid ${ours}, not by this service's user (uid ${ours + 1})`,
    );
    expect(() => checkPrivate(shared, lstatSync(shared), 'directory', ours + 1)).toThrow(SecretFileRefused);
  });

  it('refuses a directory where a file belongs, and a file where a directory does', () => {
    const { shared } = place();
    const file = planted(join(shared, 'demo-password'));
    expect(() => checkPrivate(shared, lstatSync(shared), 'file')).toThrow(/is not a regular file/);
    expect(() => checkPrivate(file, lstatSync(file), 'directory')).toThrow(/is not a directory/);
  });
});

describe('readOrCreateSecret', () => {
  it('creates the secrets directory 0700 and the file 0600 the first time, and reads it afterwards', () => {
    const { secrets } = place();
    const file = join(secrets, 'demo-password');
    const first = readOrCreateSecret(file, make);
    expect(first.created).toBe(true);
    expect(modeOf(secrets)).toBe(0o700);
    expect(modeOf(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(first.text);
    const second = readOrCreateSecret(file, make);
    expect(second).toEqual({ text: first.text, created: false });
  });

  it.each<Planting>([
    ...whenRoot([
      'owned by another user',
      (path: string) => chownSync(planted(path), STRANGER, STRANGER),
      /owned by uid 12345/,
    ]),
    ['a symbolic link', (path: string) => symlinkSync(planted(`${path}.target`), path), /symbolic link/],
    ['writable by its group', (path: string) => chmodSync(planted(path), 0o620), /written by its group or others/],
    ['writable by others', (path: string) => chmodSync(planted(path), 0o602), /written by its group or others/],
  ])('refuses a secret file %s, in one line naming it', (_case, plant, why) => {
    const { secrets } = place();
    mkdirSync(secrets, { mode: 0o700 });
    const file = join(secrets, 'auth-signing-key.pem');
    plant(file);
    expect(() => readOrCreateSecret(file, make)).toThrow(SecretFileRefused);
    expect(() => readOrCreateSecret(file, make)).toThrow(why);
    expect(() => readOrCreateSecret(file, make)).toThrow(file);
    expect(() => readOrCreateSecret(file, make)).toThrow(/^[^\n]+$/);
  });

  it.each<Planting>([
    ...whenRoot(['owned by another user', (path: string) => chownSync(path, STRANGER, STRANGER), /owned by uid 12345/]),
    ['writable by others', (path: string) => chmodSync(path, 0o777), /written by its group or others/],
    ...whenNotRoot(['its owner cannot read', (path: string) => chmodSync(path, 0o300), /cannot be read by this/]),
  ])('refuses a secrets directory %s, and writes nothing into it', (_case, plant, why) => {
    const { secrets } = place();
    mkdirSync(secrets, { mode: 0o700 });
    plant(secrets);
    const file = join(secrets, 'demo-admin-password');
    expect(() => readOrCreateSecret(file, make)).toThrow(why);
    expect(existsSync(file)).toBe(false);
  });

  it('narrows a secrets directory of ours that others may read to 0700, and refuses a file in its place', () => {
    const readable = place().secrets;
    mkdirSync(readable, { mode: 0o755 });
    expect(readOrCreateSecret(join(readable, 'demo-password'), make).created).toBe(true);
    expect(modeOf(readable)).toBe(0o700);

    const file = planted(place().secrets);
    expect(() => readOrCreateSecret(join(file, 'demo-password'), make)).toThrow(/secrets: it is not a directory/);
  });

  it('refuses a secrets directory that is a symbolic link to another directory', () => {
    const { shared, secrets } = place();
    const theirs = join(shared, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    symlinkSync(theirs, secrets);
    expect(() => readOrCreateSecret(join(secrets, 'demo-password'), make)).toThrow(/secrets.*symbolic link/);
    expect(existsSync(join(theirs, 'demo-password'))).toBe(false);
  });

  it('moves a secret from its old place into the directory when it passes the same checks', () => {
    const { shared, secrets } = place();
    const legacy = join(shared, 'demo-password');
    writeFileSync(legacy, 'from-before', { mode: 0o644 });
    const file = join(secrets, 'demo-password');
    const read = readOrCreateSecret(file, make, { legacy });
    expect(read).toEqual({ text: 'from-before', created: false, movedFrom: legacy });
    expect(existsSync(legacy)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('from-before');
    expect(modeOf(file)).toBe(0o600);
  });

  it.each<Planting>([
    ...whenRoot(['owned by another user', (path: string) => chownSync(path, STRANGER, STRANGER), /owned by uid 12345/]),
    ['group-writable', (path: string) => chmodSync(path, 0o660), /written by its group or others/],
  ])('refuses a secret at its old place %s, naming that file, and moves nothing', (_case, plant, why) => {
    const { shared, secrets } = place();
    const legacy = join(shared, 'demo-admin-password');
    writeFileSync(legacy, 'planted', { mode: 0o600 });
    plant(legacy);
    const file = join(secrets, 'demo-admin-password');
    expect(() => readOrCreateSecret(file, make, { legacy })).toThrow(why);
    expect(() => readOrCreateSecret(file, make, { legacy })).toThrow(legacy);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(legacy)).toBe(true);
  });

  it('refuses a symbolic link at the old place, whoever owns its target', () => {
    const { shared, secrets } = place();
    const target = join(shared, 'target');
    writeFileSync(target, 'ours', { mode: 0o600 });
    const legacy = join(shared, 'postgres.credentials.json');
    symlinkSync(target, legacy);
    expect(() => readOrCreateSecret(join(secrets, 'postgres.credentials.json'), make, { legacy })).toThrow(
      /postgres\.credentials\.json.*symbolic link/,
    );
  });
});

describe('readSecret and replaceSecret', () => {
  it('reads nothing where there is no file', () => {
    const { secrets } = place();
    expect(readSecret(join(secrets, 'none'))).toBeUndefined();
  });

  it('replaces a secret with a new file of mode 0600, never writing through a link into another file', () => {
    const { shared, secrets } = place();
    const file = join(secrets, 'postgres.credentials.json');
    readOrCreateSecret(file, make);
    const victim = join(shared, 'victim');
    writeFileSync(victim, 'untouched', { mode: 0o644 });
    rmSync(file);
    symlinkSync(victim, file);
    replaceSecret(file, 'new');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readSecret(file)).toBe('new');
  });
});
