import { sql } from 'kysely';
import type { Db } from './database.js';

/** True when a query reaches the database within the pool's connection timeout. */
export async function databaseIsReachable(db: Db): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
