import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, createDb } from '../../src/adapters/postgres/database.js';

/** A schema of a test's own on a shared server, for service processes: they migrate it at their first start. */
export interface ServiceSchema {
  readonly schema: string;
  /** DATABASE_URL for the service: the server's URL with this schema as search_path. */
  readonly serviceUrl: string;
  /** The test's own connection to the schema, for checks. */
  readonly db: Db;
  drop(): Promise<void>;
}

/** `url` with `schema` as the search_path of every connection made through it. */
export function withSearchPath(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Creates a schema named `prefix` and a random suffix on the server of `baseUrl`. */
export async function createServiceSchema(baseUrl: string, prefix: string): Promise<ServiceSchema> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  await onServer(baseUrl, `CREATE SCHEMA ${schema}`);
  const db = createDb({ url: baseUrl, schema, poolSize: 3 });
  return {
    schema,
    serviceUrl: withSearchPath(baseUrl, schema),
    db,
    async drop() {
      await db.destroy();
      await onServer(baseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}
