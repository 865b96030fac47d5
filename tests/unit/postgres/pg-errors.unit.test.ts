import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../../src/adapters/postgres/pg-errors.js';

describe('isDatabaseUnavailable', () => {
  it('counts a server on a Unix socket that is not there (its socket file gone) as unavailable: a 503, not a 500', async () => {
    const client = new pg.Client({ host: '/nonexistent/socket-directory', port: 5432, user: 'shop', database: 'shop' });
    const error: unknown = await client.connect().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'connect' });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('does not count a missing file that is not a connection as the database being away', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('no such file'), { code: 'ENOENT', syscall: 'open' }))).toBe(
      false,
    );
  });
});
