import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { IssueCoupon } from '../../../src/application/coupon/issue-coupon.js';
import { RunIdempotently } from '../../../src/application/idempotency/run-idempotently.js';
import type { Clock } from '../../../src/application/ports/clock.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer } from '../../../src/container.js';
import { insertUsers } from '../../support/fixtures.js';
import { seed } from '../../support/seed.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';

/** The issue window is judged by the database's clock, in the statement that issues, whatever the process's clock says. */
const database = useTestDatabase();
const actor = SYSTEM;
const MINUTE_MS = 60_000;

/** A clock that runs true but reads `offsetMs` ahead (behind when negative). */
const clockOff = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

function useCases(clock: Clock = clockOff(0)) {
  return appDependencies(createContainer({ repositories: { kind: 'POSTGRES', db: database.db }, clock }));
}

async function aCampaign(window: { issueStartsAt?: Date; issueEndsAt?: Date }) {
  return seed(useCases()).coupon({ totalQuantity: 10, ...window });
}

async function issued(couponId: number) {
  return {
    issuedQuantity: await scalar(
      database.db,
      sql`SELECT sum(issued)::int AS value FROM coupon_stripes WHERE coupon_id = ${couponId}`,
    ),
    copies: await scalar(
      database.db,
      sql`SELECT count(*)::int AS value FROM user_coupons WHERE coupon_id = ${couponId}`,
    ),
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

describe('the issue window on PostgreSQL', () => {
  it('refuses, as COUPON_NOT_ISSUABLE, an issue that waited on a stripe past issueEndsAt', async () => {
    const issueEndsAt = new Date(Date.now() + 500);
    const coupon = await aCampaign({ issueEndsAt });
    const [userId] = await insertUsers(database.db, 1);
    const { issueCoupon } = useCases();

    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = (_pid: number) => undefined as void;
    const holderPid = new Promise<number>((resolve) => {
      locked = resolve;
    });
    // Other transactions hold every stripe of the campaign (a storm's issues under Idempotency-Keys, say).
    const holder = database.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`
        SELECT pg_backend_pid() AS pid FROM coupon_stripes WHERE coupon_id = ${coupon.id} FOR UPDATE`.execute(trx);
      locked(rows[0]!.pid);
      await released;
    });
    const pid = await holderPid;

    const issue = issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! });
    const outcome = issue.then(
      () => 'ISSUED',
      (error: unknown) => (error as { code?: string }).code ?? String(error),
    );
    await until(
      async () =>
        (await scalar(
          database.db,
          sql`SELECT count(*)::int AS value FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`,
        )) === 1,
      5_000,
      'the issue waiting on the row lock',
    );
    await until(
      async () => (await scalar(database.db, sql`SELECT (now() > ${issueEndsAt})::int AS value`)) === 1,
      5_000,
      'the window closed by the database clock',
    );
    release();
    await holder;

    await expect(outcome).resolves.toBe('COUPON_NOT_ISSUABLE');
    await expect(issued(coupon.id)).resolves.toEqual({ issuedQuantity: 0, copies: 0 });
  });

  it('refuses a campaign that closed by the database clock, on an instance whose clock is an hour behind', async () => {
    const coupon = await aCampaign({ issueEndsAt: new Date(Date.now() - 30 * MINUTE_MS) });
    const [userId] = await insertUsers(database.db, 1);

    await expect(
      useCases(clockOff(-60 * MINUTE_MS)).issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! }),
    ).rejects.toMatchObject({ code: 'COUPON_NOT_ISSUABLE', facts: { couponId: coupon.id } });
    await expect(issued(coupon.id)).resolves.toEqual({ issuedQuantity: 0, copies: 0 });
  });

  it('issues from a campaign open by the database clock, on an instance whose clock is an hour ahead', async () => {
    const coupon = await aCampaign({
      issueStartsAt: new Date(Date.now() - 30 * MINUTE_MS),
      issueEndsAt: new Date(Date.now() + 30 * MINUTE_MS),
    });
    const [userId] = await insertUsers(database.db, 1);

    await expect(
      useCases(clockOff(60 * MINUTE_MS)).issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! }),
    ).resolves.toMatchObject({ couponId: coupon.id, userId });
    await expect(issued(coupon.id)).resolves.toEqual({ issuedQuantity: 1, copies: 1 });
  });

  it('refuses a campaign that has not opened by the database clock, and answers an unknown user first', async () => {
    const coupon = await aCampaign({ issueStartsAt: new Date(Date.now() + 30 * MINUTE_MS) });
    const [userId] = await insertUsers(database.db, 1);
    const { issueCoupon } = useCases(clockOff(60 * MINUTE_MS));

    await expect(issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! })).rejects.toMatchObject({
      code: 'COUPON_NOT_ISSUABLE',
    });
    await expect(issueCoupon.execute({ actor, couponId: coupon.id, userId: 987_654_321 })).rejects.toMatchObject({
      code: 'USER_NOT_FOUND',
    });
    await expect(issued(coupon.id)).resolves.toEqual({ issuedQuantity: 0, copies: 0 });
  });
});

describe('the issue window against a copy held by an earlier request of the same user', () => {
  it('refuses, storing nothing, a keyed issue that waited on the user’s earlier copy until after issueEndsAt', async () => {
    const issueEndsAt = new Date(Date.now() + 1_000);
    const coupon = await aCampaign({ issueEndsAt });
    const [userId] = await insertUsers(database.db, 1);
    const c = createContainer({ repositories: { kind: 'POSTGRES', db: database.db } });
    const issueCoupon = c.resolve(IssueCoupon);
    const runIdempotently = c.resolve(RunIdempotently);

    let rollBack = () => undefined as void;
    const rolledBack = new Promise<void>((resolve) => {
      rollBack = resolve;
    });
    let inserted = (_pid: number) => undefined as void;
    const holderPid = new Promise<number>((resolve) => {
      inserted = resolve;
    });
    // The user's earlier keyed request: its copy counted on stripe 0 and stored, not committed yet.
    const holder = database.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`
          WITH claimed AS (
            UPDATE coupon_stripes SET issued = issued + 1 WHERE coupon_id = ${coupon.id} AND stripe = 0 RETURNING stripe
          )
          INSERT INTO user_coupons (coupon_id, stripe, user_id, issued_at, expires_at)
          SELECT ${coupon.id}::bigint, stripe, ${userId}::bigint, now(), now() + interval '1 day' FROM claimed
          RETURNING pg_backend_pid() AS pid`.execute(trx);
        inserted(rows[0]!.pid);
        await rolledBack;
        throw new Error('rolled back');
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error && error.message === 'rolled back')) throw error;
      });
    const pid = await holderPid;

    // The second keyed request claims another stripe with the window open, then waits on the unique key.
    const answer = runIdempotently
      .execute(
        { userId: userId!, key: 'late-second', route: 'POST /coupons/{couponId}/issue', requestHash: 'h' },
        async () => ({ status: 201, body: await issueCoupon.execute({ actor, couponId: coupon.id, userId: userId! }) }),
        (error) => ({ status: 409, body: { code: (error as { code?: string }).code } }),
      )
      .then(({ response }) => response);
    await until(
      async () =>
        (await scalar(
          database.db,
          sql`SELECT count(*)::int AS value FROM pg_stat_activity WHERE ${pid}::int = ANY(pg_blocking_pids(pid))`,
        )) === 1,
      5_000,
      'the second issue waiting on the first one’s copy',
    );
    await until(
      async () => (await scalar(database.db, sql`SELECT (now() > ${issueEndsAt})::int AS value`)) === 1,
      5_000,
      'the window closed by the database clock',
    );
    rollBack();
    await holder;

    await expect(answer).resolves.toEqual({ status: 409, body: { code: 'COUPON_NOT_ISSUABLE' } });
    await expect(issued(coupon.id)).resolves.toEqual({ issuedQuantity: 0, copies: 0 });
  });
});
