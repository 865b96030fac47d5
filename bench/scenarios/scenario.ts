import type pg from 'pg';
import type { AppDependencies } from '../../src/adapters/http/app.js';
import type { Db } from '../../src/adapters/postgres/database.js';
import type { Actor } from '../../src/application/shared/actor.js';
import { DomainError } from '../../src/domain/shared/domain-error.js';
import type { BenchAuth } from '../auth.js';
import type { Row } from '../harness.js';
import type { HttpClient, HttpResult } from '../service.js';

/**
 * The ceiling: the service without its HTTP layer. The same use cases on the same Pg adapters, wired by
 * the composition root in this process (with the service's signing key), so it runs the service's own code
 * and can't drift from it. Authentication is not HTTP: the ceiling pays it where the edge does, once per
 * call (see actingAs), so service/ceiling stays the cost of HTTP alone; the `token-cost` rows say what the
 * authentication step itself costs.
 */
export interface Ceiling {
  readonly useCases: AppDependencies;
  /** The database they run on, with a pool of the same size as the service's. */
  readonly db: Db;
}

export interface ScenarioContext {
  readonly http: HttpClient;
  /**
   * The service process's CPU time so far, in microseconds: a service run passes it to runLoad as its `cpu`
   * probe, and its row shows the CPU per request.
   */
  readonly serviceCpuUs: () => number;
  readonly ceiling: Ceiling;
  /** The customers' tokens (minted), the administrator's (logged in). */
  readonly auth: BenchAuth;
  /**
   * Plain pg on the bench database (a pool of the same size): bulk loading, checks, the FOR UPDATE variant
   * and the limits.
   */
  readonly pg: pg.Pool;
  readonly databaseUrl: string;
  readonly concurrency: number;
  /** The shop's time zone, whose days the sales rollup counts. */
  readonly timeZone: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(context: ScenarioContext): Promise<Row[]>;
}

/**
 * One ceiling call as the service makes it: the bearer token to its actor (Authenticate: the JWT's
 * signature and claims, then the user's token version, cached for 500 ms per user, exactly what the HTTP
 * edge's hook runs), then the use case with that actor, whose own checks run as they do behind HTTP.
 */
export async function actingAs<T>(ceiling: Ceiling, token: string, work: (actor: Actor) => Promise<T>): Promise<T> {
  return work(await ceiling.useCases.authenticate.execute(token));
}

/** The outcome of one request, as a word: the created status, or the problem's code. */
export function outcomeOf({ status, body }: HttpResult, success: number, word: string): string {
  if (status === success) return word;
  return typeof body.code === 'string' ? body.code : `HTTP_${status}`;
}

/** The outcome of one use-case call in the same words: `word` when it returns, else the DomainError's code. */
export async function outcomeOfCall(call: Promise<unknown>, word: string): Promise<string> {
  try {
    await call;
    return word;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    return `ERROR ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Inserts users with their zero balances in one statement; the bench loads data in bulk, not per request. */
export async function insertUsers(pool: pg.Pool, count: number, prefix: string): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH created AS (
       INSERT INTO users (name, created_at)
       SELECT $2 || n, now() FROM generate_series(1, $1::int) AS n
       RETURNING id, created_at
     )
     INSERT INTO balances (user_id, amount, updated_at) SELECT id, 0, created_at FROM created RETURNING user_id AS id`,
    [count, prefix],
  );
  return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}
