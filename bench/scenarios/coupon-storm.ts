import type pg from 'pg';
import { BENCH_SCALE, type Sample, type Stats, cpuSplitUntil, row, runLoad, scaled, statsOf } from '../harness.js';
import { issueAtLimit } from './coupon-storm.limit.js';
import {
  type Scenario,
  type ScenarioContext,
  actingAs,
  insertUsers,
  outcomeOf,
  outcomeOfCall,
  tally,
} from './scenario.js';

const USERS = scaled(10_000, 100);
const QUANTITY = scaled(1_000, 10);
const SOLD_OUT = 'COUPON_SOLD_OUT';
/** A smoke run sells a few dozen copies: too few for the selling rate to be compared with anything. */
const fullRun = BENCH_SCALE >= 1;

class Rollback extends Error {
  constructor(readonly outcome: string) {
    super(outcome);
  }
}

/**
 * The alternative the service's design was measured against, in plain pg: the same reads and writes in one
 * transaction that locks the campaign row first (SELECT … FOR UPDATE), then counts the copies issued, inserts
 * the copy and counts it on the first stripe with room (the campaign's lock serialises them all).
 */
async function issueSelectForUpdate(pool: pg.Pool, couponId: number, userId: number): Promise<string> {
  return attempt(pool, async (client) => {
    const coupon = await client.query('SELECT total_quantity, valid_days FROM coupons WHERE id = $1 FOR UPDATE', [
      couponId,
    ]);
    // Counted in a statement of its own, once the campaign is held: the locking statement's snapshot is older.
    const count = await client.query('SELECT sum(issued) AS issued FROM coupon_stripes WHERE coupon_id = $1', [
      couponId,
    ]);
    await client.query('SELECT id FROM users WHERE id = $1', [userId]);
    const { total_quantity: total, valid_days: days } = coupon.rows[0] as Record<string, string>;
    const { issued } = count.rows[0] as Record<string, string>;
    if (Number(issued) >= Number(total)) throw new Rollback(SOLD_OUT);
    const { rows } = await client.query<{ stripe: number }>(
      `UPDATE coupon_stripes SET issued = issued + 1
       WHERE coupon_id = $1
         AND stripe = (SELECT min(stripe) FROM coupon_stripes WHERE coupon_id = $1 AND issued < quantity)
       RETURNING stripe`,
      [couponId],
    );
    const copy = await client.query(
      `INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
       VALUES ($1, $2, $3, now(), now() + $4 * interval '1 day')
       ON CONFLICT (coupon_id, user_id) DO NOTHING RETURNING id`,
      [couponId, rows[0]!.stripe, userId, days],
    );
    if (copy.rowCount === 0) throw new Rollback('COUPON_ALREADY_ISSUED');
  });
}

/** Runs `work` in a transaction on one connection of the pool. */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

async function attempt(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<string> {
  try {
    await inTransaction(pool, work);
    return 'ISSUED';
  } catch (error) {
    if (error instanceof Rollback) return error.outcome;
    return `SQL_ERROR ${(error as Error).message}`;
  }
}

/** The service's campaign, made as a back office would: POST /admin/coupons with the admin's token. */
async function createCampaignAsAdmin(context: ScenarioContext): Promise<number> {
  const created = await context.http.request(
    'POST',
    '/api/v1/admin/coupons',
    { name: 'bench storm', discountType: 'PERCENT', discountValue: 10, totalQuantity: QUANTITY, validDays: 7 },
    context.auth.admin.token,
  );
  if (created.status !== 201) throw new Error(`POST /admin/coupons answered ${created.status}`);
  return created.body.id as number;
}

/** The ceilings' campaigns, straight into the table: the same row the route makes (the database splits it). */
async function createCampaign(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_days, created_at)
     VALUES ('bench storm', 'PERCENT', 10, $1, 7, now()) RETURNING id`,
    [QUANTITY],
  );
  return Number(rows[0]!.id);
}

async function issuedInDatabase(pool: pg.Pool, couponId: number): Promise<{ counter: number; rows: number }> {
  const { rows } = await pool.query<{ counter: string; rows: string }>(
    `SELECT (SELECT sum(issued) FROM coupon_stripes WHERE coupon_id = $1) AS counter,
            (SELECT count(*) FROM user_coupons WHERE coupon_id = $1) AS rows`,
    [couponId],
  );
  return { counter: Number(rows[0]!.counter), rows: Number(rows[0]!.rows) };
}

/**
 * How much faster than selling a sold-out answer must come: it never touches the campaign's row. Each
 * request still authenticates, and every storm user is new, so each pays one indexed read of its token
 * version (cached 500 ms per user): 5x before authentication (measured 7-9x), 3x with it on 2026-12-01.
 */
const SOLD_OUT_SPEEDUP = 2;

/** Requests that issued a copy, over the time until the last copy went: the selling rate. */
/** When the last copy was issued, in ms since the start of the run. */
const lastIssuedAt = (samples: Sample<string>[]) =>
  Math.max(...samples.filter((sample) => sample.value === 'ISSUED').map((sample) => sample.doneAt));

function selling(samples: Sample<string>[]): Stats {
  return statsOf(
    samples.filter((sample) => sample.value === 'ISSUED'),
    lastIssuedAt(samples),
  );
}

async function ceilingRun(
  context: ScenarioContext,
  label: string,
  issue: (couponId: number, userId: number, token: string) => Promise<string>,
) {
  const couponId = await createCampaign(context.pg);
  const users = await insertUsers(context.pg, USERS, `ceiling ${label} `);
  const tokens = await context.auth.tokensFor(users);
  const run = await runLoad(`coupon-storm ceiling (${label})`, USERS, context.concurrency, (i) =>
    issue(couponId, users[i]!, tokens[i]!),
  );
  return { run, stored: await issuedInDatabase(context.pg, couponId) };
}

export const couponStorm: Scenario = {
  name: 'coupon-storm',
  description: `${USERS} users ask for a campaign of ${QUANTITY} at once, then ${USERS} more requests after it sold out`,
  async run(context) {
    const { http, concurrency } = context;
    const couponId = await createCampaignAsAdmin(context);
    const users = await insertUsers(context.pg, USERS, 'storm ');
    // Each user asks for a copy for themselves, with their own token.
    const tokens = await context.auth.tokensFor(users);
    const issue = async (i: number) =>
      outcomeOf(
        await http.request('POST', `/api/v1/coupons/${couponId}/issue`, { userId: users[i] }, tokens[i]),
        201,
        'ISSUED',
      );

    const cpu = { cpu: context.serviceCpuUs };
    const storm = await runLoad('coupon-storm (service)', USERS, concurrency, issue, cpu);
    const afterSellOut = await runLoad('coupon-storm sold out (service)', USERS, concurrency, issue, cpu);
    const stored = await issuedInDatabase(context.pg, couponId);
    const { issueCoupon } = context.ceiling.useCases;
    const inProcess = await ceilingRun(context, 'in-process', (couponId, userId, token) =>
      outcomeOfCall(
        actingAs(context.ceiling, token, (actor) => issueCoupon.execute({ actor, couponId, userId })),
        'ISSUED',
      ),
    );
    // It pays the same authentication step as the in-process ceiling, so the two differ only in how they issue.
    const forUpdate = await ceilingRun(context, 'pg, SELECT FOR UPDATE', (couponId, userId, token) =>
      actingAs(context.ceiling, token, () => issueSelectForUpdate(context.pg, couponId, userId)).catch(
        (error: unknown) => `ERROR ${error instanceof Error ? error.message : String(error)}`,
      ),
    );

    // The limit: the campaign's guarded count and the copy in one statement, through pg, no token to check.
    const limitCampaign = await createCampaign(context.pg);
    const limitUsers = await insertUsers(context.pg, USERS, 'limit storm ');
    const limit = await runLoad('coupon-storm (limit: one statement)', USERS, concurrency, (i) =>
      issueAtLimit(context.pg, limitCampaign, limitUsers[i]!),
    );
    const limitStored = await issuedInDatabase(context.pg, limitCampaign);

    const stormTally = tally(storm.samples.map((sample) => sample.value));
    const soldOutTally = tally(afterSellOut.samples.map((sample) => sample.value));
    const unexpected = (counts: Record<string, number>, allowed: string[]) =>
      Object.entries(counts).reduce((sum, [key, count]) => (allowed.includes(key) ? sum : sum + count), 0);
    const sellingStats = selling(storm.samples);
    const soldOutStats = statsOf(afterSellOut.samples, afterSellOut.elapsedMs);
    const exact = (counts: { counter: number; rows: number }, answered: number) =>
      `issued ${answered}, counter ${counts.counter}, rows ${counts.rows} of ${QUANTITY}`;
    const isExact = (counts: { counter: number; rows: number }, answered: number) =>
      answered === QUANTITY && counts.counter === QUANTITY && counts.rows === QUANTITY;
    const ceilingIssued = (samples: Sample<string>[]) => samples.filter((sample) => sample.value === 'ISSUED').length;
    const limitTally = tally(limit.samples.map((sample) => sample.value));
    const limitIssued = limitTally.ISSUED ?? 0;
    const limitExact =
      isExact(limitStored, limitIssued) &&
      (limitTally[SOLD_OUT] ?? 0) === USERS - QUANTITY &&
      unexpected(limitTally, ['ISSUED', SOLD_OUT]) === 0;
    const limitSelling = selling(limit.samples);

    return [
      row(
        'coupon-storm: selling',
        sellingStats,
        unexpected(stormTally, ['ISSUED', SOLD_OUT]),
        selling(inProcess.run.samples),
        exact(stored, stormTally.ISSUED ?? 0) +
          (limitExact ? '; limit exact too' : `; limit NOT exact: ${exact(limitStored, limitIssued)}`),
        isExact(stored, stormTally.ISSUED ?? 0) && limitExact,
        {
          limit: limitSelling,
          limitTarget: 0.8,
          target: 0.4,
          write: true,
          cpu: cpuSplitUntil(storm, lastIssuedAt(storm.samples)),
          limitCpu: cpuSplitUntil(limit, lastIssuedAt(limit.samples)),
        },
      ),
      row(
        'coupon-storm: whole storm',
        statsOf(storm.samples, storm.elapsedMs),
        unexpected(stormTally, ['ISSUED', SOLD_OUT]),
        statsOf(inProcess.run.samples, inProcess.run.elapsedMs),
        `${stormTally[SOLD_OUT] ?? 0} sold-out answers (limit ${limitTally[SOLD_OUT] ?? 0})`,
        (stormTally[SOLD_OUT] ?? 0) === USERS - QUANTITY && limitExact,
        {
          limit: statsOf(limit.samples, limit.elapsedMs),
          write: true,
          cpu: cpuSplitUntil(storm),
          limitCpu: cpuSplitUntil(limit),
        },
      ),
      row(
        'coupon-storm: after sell-out',
        soldOutStats,
        unexpected(soldOutTally, [SOLD_OUT]),
        null,
        `all ${SOLD_OUT}; ${(soldOutStats.rps / sellingStats.rps).toFixed(1)}x the selling rate` +
          (fullRun ? '' : ` (at least ${SOLD_OUT_SPEEDUP}x is checked on a full run only)`),
        soldOutTally[SOLD_OUT] === USERS && (!fullRun || soldOutStats.rps >= SOLD_OUT_SPEEDUP * sellingStats.rps),
        { cpuUs: afterSellOut.cpuUsPerRequest, target: 1.5 },
      ),
      row(
        'coupon-storm: FOR UPDATE variant',
        selling(forUpdate.run.samples),
        unexpected(tally(forUpdate.run.samples.map((sample) => sample.value)), ['ISSUED', SOLD_OUT]),
        selling(inProcess.run.samples),
        `pg only, vs the service in-process; ${exact(forUpdate.stored, ceilingIssued(forUpdate.run.samples))}`,
        isExact(forUpdate.stored, ceilingIssued(forUpdate.run.samples)) &&
          isExact(inProcess.stored, ceilingIssued(inProcess.run.samples)),
        { limit: limitSelling, write: true },
      ),
    ];
  },
};
