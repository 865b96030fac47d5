import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { credentialsFileOf, startEmbeddedPostgres } from '../../../src/adapters/postgres/embedded.js';

const root = mkdtempSync(join(tmpdir(), 'embedded-credentials-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a damaged credentials file of the embedded server', () => {
  it('is refused by its path, without quoting what it holds', async () => {
    const dataDir = join(root, 'postgres');
    const file = credentialsFileOf(dataDir);
    mkdirSync(join(root, 'secrets'), { mode: 0o700 });
    writeFileSync(file, '{ "superuser": s3cret-superuser-password }', { mode: 0o600 });

    const started = startEmbeddedPostgres({ dataDir, port: 1 });

    await expect(started).rejects.toThrow(`${file} is not valid JSON`);
    await expect(started).rejects.not.toThrow('s3cret');
  });
});
