import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import type { Transaction } from 'kysely';
import type { Database } from '../../../src/adapters/postgres/tables.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

/** A campaign's quantity split across rows (migration 0006): what the split promises, and what it must not cost. */
const database = useTestDatabase({ poolSize: 20 });
const actor = SYSTEM;

function useCases() {
  return appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db } }));
}

const campaign = (totalQuantity: number) => seed(useCases()).coupon({ totalQuantity });

const stripesOf = async (couponId: number) =>
  (
    await database.db
      .selectFrom('coupon_stripes')
      .select(['stripe', 'quantity', 'issued'])
      .where('coupon_id', '=', couponId)
      .orderBy('stripe')
      .execute()
  ).map((row) => ({ stripe: Number(row.stripe), quantity: Number(row.quantity), issued: Number(row.issued) }));

/** The count and the copies, read in one statement: one snapshot. */
async function countAndCopies(couponId: number) {
  const { rows } = await sql<{ issued: string; copies: string }>`
    SELECT (SELECT sum(issued) FROM coupon_stripes WHERE coupon_id = ${couponId}) AS issued,
           (SELECT count(*) FROM user_coupons WHERE coupon_id = ${couponId}) AS copies`.execute(database.db);
  return { issued: Number(rows[0]!.issued), copies: Number(rows[0]!.copies) };
}

const outcomeOf = (issue: Promise<unknown>) =>
  issue.then(
    () => 'ISSUED',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );

/** Runs `work` in a transaction that stays open until `release` is called; resolves once `work` is done. */
function holdingTransaction(work: (trx: Transaction<Database>) => Promise<number>) {
  let release = (_commit: boolean) => undefined as void;
  const released = new Promise<boolean>((resolve) => {
    release = resolve;
  });
  let ready = (_pid: number) => undefined as void;
  const pid = new Promise<number>((resolve) => {
    ready = resolve;
  });
  const done = database.db
    .transaction()
    .execute(async (trx) => {
      ready(await work(trx));
      if (!(await released)) throw new Error('rolled back');
    })
    .catch((error: unknown) => {
      if (!(error instanceof Error && error.message === 'rolled back')) throw error;
    });
  return { pid, release, done };
}

async function waitingOn(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  const waiting = sql<{ value: number }>`
    SELECT count(*)::int AS value FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`;
  while ((await scalar(database.db, waiting)) < 1) {
    if (Date.now() > deadline) throw new Error(`nothing waited on backend ${pid} within 5 s`);
    await sleep(10);
  }
}

describe('a campaign split across stripes on PostgreSQL', () => {
  it.each([
    [100, 32, [3, 4]],
    [5, 5, [1]],
    [1, 1, [1]],
  ])('splits a campaign of %i into %i stripes that add up to it', async (total, stripes, sizes) => {
    const coupon = await campaign(total);

    const rows = await stripesOf(coupon.id);
    expect(rows).toHaveLength(stripes);
    expect(rows.reduce((sum, row) => sum + row.quantity, 0)).toBe(total);
    expect(new Set(rows.map((row) => row.quantity))).toEqual(new Set(sizes));
    expect(rows.every((row) => row.issued === 0)).toBe(true);
  });

  it('issues from another stripe, without waiting, while a request holds one', async () => {
    const coupon = await campaign(10);
    const [userId] = await insertUsers(database.db, 1);
    const holder = holdingTransaction(async (trx) => {
      const { rows } = await sql<{ pid: number }>`
        SELECT pg_backend_pid() AS pid FROM coupon_stripes
        WHERE coupon_id = ${coupon.id} AND stripe <> 9 FOR UPDATE`.execute(trx);
      return rows[0]!.pid;
    });
    await holder.pid;

    const issue = outcomeOf(useCases().issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! }));
    const outcome = await Promise.race([issue, sleep(3_000, 'STILL WAITING')]);
    holder.release(true);
    await holder.done;

    expect(outcome).toBe('ISSUED');
    expect((await stripesOf(coupon.id)).find((row) => row.stripe === 9)?.issued).toBe(1);
  });

  it.each([
    ['roll back', 'ISSUED', false, 1],
    ['commit', 'COUPON_SOLD_OUT', true, 2],
  ])(
    'waits, rather than answer sold out, while the last copies are held by requests that may fail; they %s: %s',
    async (_label, expected, commit, copiesAfter) => {
      const coupon = await campaign(2);
      const [first, second, third] = await insertUsers(database.db, 3);
      // Two requests in flight, each holding a stripe with its copy counted, neither committed yet.
      const holder = holdingTransaction(async (trx) => {
        const { rows } = await sql<{ pid: number }>`
          WITH claimed AS (
            UPDATE coupon_stripes SET issued = issued + 1 WHERE coupon_id = ${coupon.id} RETURNING stripe
          )
          INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
          SELECT ${coupon.id}::bigint, stripe, (ARRAY[${first}::bigint, ${second}::bigint])[stripe + 1], now(), now() + interval '1 day'
          FROM claimed
          RETURNING pg_backend_pid() AS pid`.execute(trx);
        return rows[0]!.pid;
      });
      const pid = await holder.pid;

      const issue = outcomeOf(useCases().issueCoupon.execute({ actor, couponId: coupon.id, userId: third! }));
      await waitingOn(pid);
      holder.release(commit);
      await holder.done;

      await expect(issue).resolves.toBe(expected);
      await expect(countAndCopies(coupon.id)).resolves.toEqual({ issued: copiesAfter, copies: copiesAfter });
    },
  );

  it('keeps issuedQuantity equal to the copies at every moment of a storm, and never past the total', async () => {
    const { issueCoupon } = useCases();
    const coupon = await campaign(150);
    const users = await insertUsers(database.db, 400);

    let storming = true;
    const readings: { issued: number; copies: number }[] = [];
    const reader = (async () => {
      while (storming) readings.push(await countAndCopies(coupon.id));
    })();
    const results = await Promise.all(
      users.map((userId) => outcomeOf(issueCoupon.execute({ actor, couponId: coupon.id, userId }))),
    );
    storming = false;
    await reader;

    expect(results.filter((result) => result === 'ISSUED')).toHaveLength(150);
    expect(results.filter((result) => result === 'COUPON_SOLD_OUT')).toHaveLength(250);
    expect(readings.length).toBeGreaterThan(1);
    expect(readings.filter((reading) => reading.issued !== reading.copies || reading.issued > 150)).toEqual([]);
    const stripes = await stripesOf(coupon.id);
    expect(stripes.every((row) => row.issued === row.quantity)).toBe(true);
    await expect(countAndCopies(coupon.id)).resolves.toEqual({ issued: 150, copies: 150 });
  });

  it('issues exactly the total to a storm of keyed requests, each holding its stripe until its key commits', async () => {
    const { issueCoupon, runIdempotently } = useCases();
    const coupon = await campaign(40);
    const users = await insertUsers(database.db, 120);

    const results = await Promise.all(
      users.map(async (userId) =>
        runIdempotently
          .execute(
            { userId, key: `storm-${userId}`, route: 'POST /coupons/{couponId}/issue', requestHash: 'h' },
            async () => ({
              status: 201,
              body: await issueCoupon.execute({ actor, couponId: coupon.id, userId }),
            }),
            (error) => ({ status: 409, body: { code: (error as { code?: string }).code } }),
          )
          .then(({ response }) => (response.status === 201 ? 'ISSUED' : (response.body as { code: string }).code)),
      ),
    );

    expect(results.filter((result) => result === 'ISSUED')).toHaveLength(40);
    expect(results.filter((result) => result === 'COUPON_SOLD_OUT')).toHaveLength(80);
    await expect(countAndCopies(coupon.id)).resolves.toEqual({ issued: 40, copies: 40 });
    const keys = sql<{ value: number }>`SELECT count(*)::int AS value FROM idempotency_keys WHERE key LIKE 'storm-%'`;
    await expect(scalar(database.db, keys)).resolves.toBe(120);
  });

  it('skips the stripes entirely for a campaign whose window has closed: nothing to wait on', async () => {
    const s = useCases();
    const { issueCoupon } = s;
    const coupon = await seed(s).coupon({
      totalQuantity: 3,
      issueStartsAt: new Date(Date.now() - 60_000),
      issueEndsAt: new Date(Date.now() - 30_000),
    });
    const [userId] = await insertUsers(database.db, 1);
    const holder = holdingTransaction(async (trx) => {
      const { rows } = await sql<{ pid: number }>`
        SELECT pg_backend_pid() AS pid FROM coupon_stripes WHERE coupon_id = ${coupon.id} FOR UPDATE`.execute(trx);
      return rows[0]!.pid;
    });
    await holder.pid;

    const outcome = await Promise.race([
      outcomeOf(issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! })),
      sleep(3_000, 'STILL WAITING'),
    ]);
    holder.release(true);
    await holder.done;

    expect(outcome).toBe('COUPON_NOT_ISSUABLE');
  });
});
