import { sql } from 'kysely';
import type { Db } from './database.js';

/**
 * Why the database can't hold the shop's text, or undefined when it can. Only UTF-8 will do: in SQL_ASCII
 * (what initdb makes under LANG=C) `char_length` counts bytes, so a name the service accepts as 34
 * characters fails the table's CHECK as 102 bytes, and text is stored without being checked at all.
 */
export async function encodingProblem(db: Db, embeddedDataDir?: string): Promise<string | undefined> {
  const { rows } = await sql<{ encoding: string; database: string }>`
    SELECT current_setting('server_encoding') AS encoding, current_database() AS database`.execute(db);
  const { encoding, database } = rows[0]!;
  if (encoding === 'UTF8') return undefined;
  const remedy = embeddedDataDir
    ? `the embedded cluster in ${embeddedDataDir} predates UTF-8 clusters: move it away and start again for a new one`
    : `create one with: CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0`;
  return `database "${database}": its encoding is ${encoding}, and the service needs UTF8; ${remedy}`;
}
