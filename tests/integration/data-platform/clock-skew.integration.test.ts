import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryDelivery } from '../../../src/application/data-platform/retry-delivery.js';
import type { Clock } from '../../../src/application/ports/clock.js';
import { SYSTEM } from '../../../src/application/shared/actor.js';
import { appDependencies, createContainer, startOutboxRelay } from '../../../src/container.js';
import { useTestDatabase } from '../../support/test-database.js';
import { seed, systemStamp } from '../../support/seed.js';
import { insertOutboxRows } from './outbox-rows.js';
import { type ReceivedRequest, Receiver } from './receiver.js';

/**
 * Instances on one database whose clocks disagree: when an event is due, and how long a claim on it lasts,
 * must be judged by the database's clock alone, or one instance sends what another is still sending.
 */
const database = useTestDatabase({ poolSize: 10 });
const HOUR_MS = 3_600_000;
/** The send timeout: each instance's lease is three of them (see the composition root). */
const TIMEOUT_MS = 2_000;
const actor = SYSTEM;

/** A clock that runs true but reads `offsetMs` ahead (behind when negative). */
const clockOff = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await sql`DELETE FROM data_platform_outbox`.execute(database.db);
});

async function startReceiver(): Promise<Receiver> {
  const receiver = await new Receiver().start();
  cleanups.push(() => receiver.stop());
  return receiver;
}

/** One service instance on the shared database, its clock `offsetMs` off: its container, and its relay once started. */
function anInstance(offsetMs: number, platformUrl: string, { backoffBaseMs = 1_000 } = {}) {
  const container = createContainer({
    repositories: { kind: 'POSTGRES', db: database.db },
    clock: clockOff(offsetMs),
    dataPlatform: { url: platformUrl, timeoutMs: TIMEOUT_MS, backoffBaseMs, maxAttempts: 100 },
  });
  const errors: unknown[] = [];
  return {
    container,
    errors,
    startRelay() {
      const relay = startOutboxRelay(container, (error) => errors.push(error));
      cleanups.push(() => relay.stop());
    },
  };
}

const eventIdOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { eventId: string }).eventId;

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}

async function deliveredCount(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM data_platform_outbox WHERE status = 'DELIVERED'`.execute(database.db);
  return rows[0]!.n;
}

/** A receiver that holds every request until `release`, then accepts it. */
async function gatedReceiver() {
  const receiver = await startReceiver();
  let release = () => undefined as void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  cleanups.push(async () => release());
  receiver.answer = async () => {
    await gate;
    return { status: 200, body: '{}' };
  };
  return { receiver, release };
}

describe('the relay on instances whose clocks disagree', () => {
  it.each([
    ['an hour behind', 'on time', -HOUR_MS, 0],
    ['on time', 'an hour ahead', 0, HOUR_MS],
  ])(
    'has an instance %s send each event once, with an instance %s polling meanwhile',
    async (_claimant, _rival, claimantOffsetMs, rivalOffsetMs) => {
      const { receiver, release } = await gatedReceiver();
      // A backlog due two hours ago, so that even the slow clock sees it due.
      const rows = await insertOutboxRows(database.db, 3, new Date(Date.now() - 2 * HOUR_MS));
      const claimant = anInstance(claimantOffsetMs, receiver.url);
      const rival = anInstance(rivalOffsetMs, receiver.url);

      claimant.startRelay();
      await until(() => receiver.requests.length === 3, 5_000, 'the claimant sends the backlog');
      rival.startRelay();
      // Several of the rival's polls while the claimant's sends are in flight, well inside their lease.
      await sleep(1_000);
      release();
      await until(async () => (await deliveredCount()) === 3, 5_000, 'every event delivered');

      expect(receiver.requests.map(eventIdOf).sort()).toEqual(rows.map((row) => row.eventId).sort());
      expect([...claimant.errors, ...rival.errors]).toEqual([]);
    },
  );

  it('has an order placed on an instance an hour ahead due at once for the others', async () => {
    const receiver = await startReceiver();
    const ahead = anInstance(HOUR_MS, receiver.url);
    const make = seed(appDependencies(ahead.container));
    const user = await make.chargedUser(10_000);
    const mug = await make.product();
    const order = await make.order(user.id, [{ productId: mug.id, quantity: 1 }]);

    anInstance(0, receiver.url).startRelay();

    await until(() => receiver.requests.length === 1, 3_000, 'the order sent by an instance on time');
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ orderId: order.id });
  });

  it('waits out the backoff of a failure recorded by an instance an hour behind', async () => {
    const receiver = await startReceiver();
    const arrivals: number[] = [];
    receiver.answer = () => {
      arrivals.push(Date.now());
      return arrivals.length === 1 ? { status: 503, body: 'busy' } : { status: 200, body: '{}' };
    };
    await insertOutboxRows(database.db, 1, new Date(Date.now() - 2 * HOUR_MS));
    // 1.5 s, give or take the 20 % jitter: at least 1.2 s.
    const backoff = { backoffBaseMs: 1_500 };
    anInstance(-HOUR_MS, receiver.url, backoff).startRelay();
    await until(() => arrivals.length === 1, 3_000, 'the first attempt');
    anInstance(0, receiver.url, backoff).startRelay();

    await until(() => arrivals.length === 2, 5_000, 'the retry');
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1_100);
  });

  it('has a delivery an operator retries on an instance an hour ahead due at once for the others', async () => {
    const receiver = await startReceiver();
    const [row] = await insertOutboxRows(database.db, 1);
    await sql`UPDATE data_platform_outbox SET status = 'FAILED', attempts = 10, last_error = 'answered 500'
      WHERE event_id = ${row!.eventId}`.execute(database.db);
    const ahead = anInstance(HOUR_MS, receiver.url);
    const audit = systemStamp('delivery.retry');
    await ahead.container.resolve(RetryDelivery).execute({ actor, eventId: row!.eventId, audit });

    anInstance(0, receiver.url).startRelay();

    await until(() => receiver.requests.length === 1, 3_000, 'the retried event sent by an instance on time');
    expect(eventIdOf(receiver.requests[0]!)).toBe(row!.eventId);
  });
});
