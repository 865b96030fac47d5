import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliverDueEvents } from '../../../src/application/data-platform/deliver-due-events.js';
import { OutboxRelay } from '../../../src/adapters/data-platform/outbox-relay.js';
import { UndiciDataPlatformClient } from '../../../src/adapters/data-platform/undici-data-platform-client.js';
import { PgDeliveryStore } from '../../../src/adapters/postgres/pg-delivery-store.js';
import { scalar, useTestDatabase } from '../../support/test-database.js';
import { insertCancellationRow, insertOutboxRows } from './outbox-rows.js';
import { type ReceivedRequest, Receiver } from './receiver.js';

const database = useTestDatabase({ poolSize: 10 });
const TIMEOUT_MS = 200;
/** The production policy scaled down a hundredfold, and never parked, so the test waits for recovery, not minutes. */
const FAST_POLICY = { baseMs: 10, capMs: 600, maxAttempts: 1_000 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startReceiver(): Promise<Receiver> {
  const receiver = await new Receiver().start();
  cleanups.push(() => receiver.stop());
  return receiver;
}

function startRelay(baseUrl: string, errors: unknown[]): OutboxRelay {
  const client = new UndiciDataPlatformClient({ baseUrl, timeoutMs: TIMEOUT_MS });
  const deliverDueEvents = new DeliverDueEvents(new PgDeliveryStore(database.db), client, {
    batchSize: 5,
    leaseMs: 5 * TIMEOUT_MS,
    policy: FAST_POLICY,
  });
  const relay = new OutboxRelay(deliverDueEvents, {
    pollIntervalMs: 20,
    errorPauseMs: 100,
    onError: (error) => errors.push(error),
  });
  relay.start();
  cleanups.push(async () => {
    await relay.stop();
    await client.close();
  });
  return relay;
}

const eventIdOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { eventId: string }).eventId;

async function statusesOf(eventIds: string[]): Promise<Record<string, number>> {
  const { rows } = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM data_platform_outbox WHERE event_id = ANY(${eventIds}::uuid[]) GROUP BY status`.execute(
    database.db,
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

async function errorsLike(eventIds: string[], pattern: string): Promise<number> {
  return scalar(
    database.db,
    sql`SELECT count(*)::int AS value FROM data_platform_outbox WHERE event_id = ANY(${eventIds}::uuid[]) AND last_error LIKE ${pattern}`,
  );
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe('OutboxRelay against PostgreSQL and an HTTP data platform', () => {
  it('delivers every event through failures, hangs and an outage, once the platform recovers', async () => {
    const receiver = await startReceiver();
    const accepted = new Map<string, number>();
    const failedIn = { failing: new Set<string>(), hanging: new Set<string>() };
    let phase: 'failing' | 'hanging' | 'healthy' = 'failing';
    receiver.answer = (request) => {
      const eventId = eventIdOf(request);
      if (phase === 'failing') {
        failedIn.failing.add(eventId);
        return { status: 500, body: 'ingest down' };
      }
      if (phase === 'hanging') {
        failedIn.hanging.add(eventId);
        return 'hang';
      }
      accepted.set(eventId, (accepted.get(eventId) ?? 0) + 1);
      return { status: 201 };
    };
    const rows = await insertOutboxRows(database.db, 20);
    const eventIds = rows.map((row) => row.eventId);
    const errors: unknown[] = [];
    const started = Date.now();
    startRelay(receiver.url, errors);

    await until(() => failedIn.failing.size === 20, 5_000);
    phase = 'hanging';
    await until(async () => failedIn.hanging.size >= 5 && (await errorsLike(eventIds, '%timed out%')) > 0, 5_000);
    await receiver.stop();
    await until(async () => (await errorsLike(eventIds, '%connection refused%')) > 0, 5_000);
    expect(await statusesOf(eventIds)).toEqual({ PENDING: 20 });
    phase = 'healthy';
    await receiver.start();
    await until(async () => (await statusesOf(eventIds)).DELIVERED === 20, 10_000);

    expect(Date.now() - started).toBeLessThan(20_000);
    expect(eventIds.map((eventId) => accepted.get(eventId) ?? 0).every((count) => count >= 1)).toBe(true);
    expect([...accepted.keys()].sort()).toEqual([...eventIds].sort());
    expect(receiver.requests.every((request) => request.headers['idempotency-key'] === eventIdOf(request))).toBe(true);
    const { rows: outcomes } = await sql<{ attempts: number; last_error: string | null }>`
      SELECT attempts, last_error FROM data_platform_outbox WHERE event_id = ANY(${eventIds}::uuid[])`.execute(
      database.db,
    );
    expect(outcomes.every((row) => row.attempts >= 2)).toBe(true);
    // DELIVERED keeps the error of the last failed attempt, for the operator.
    expect(outcomes.every((row) => row.last_error?.startsWith(`POST ${receiver.url}/orders `))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('has two relays on one database deliver each event exactly once to a healthy platform', async () => {
    const receiver = await startReceiver();
    receiver.answer = async () => {
      await sleep(Math.random() * 10);
      return { status: 200, body: '{}' };
    };
    const rows = await insertOutboxRows(database.db, 50);
    const eventIds = rows.map((row) => row.eventId);
    const errors: unknown[] = [];

    startRelay(receiver.url, errors);
    startRelay(receiver.url, errors);
    await until(async () => (await statusesOf(eventIds)).DELIVERED === 50, 15_000);

    const received = new Map<string, number>();
    for (const request of receiver.requests)
      received.set(eventIdOf(request), (received.get(eventIdOf(request)) ?? 0) + 1);
    expect(receiver.requests).toHaveLength(50);
    expect([...received.keys()].sort()).toEqual([...eventIds].sort());
    expect([...received.values()].every((count) => count === 1)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('delivers paid orders to /orders and their cancellations to /orders/cancellations, retrying each on its own, and each order’s events in the order they happened', async () => {
    const receiver = await startReceiver();
    const paid = await insertOutboxRows(database.db, 3);
    const cancelled = [
      await insertCancellationRow(database.db, paid[0]!),
      await insertCancellationRow(database.db, paid[0]!, { refundAmount: 100 }),
      await insertCancellationRow(database.db, paid[2]!),
    ];
    const failedOnce = new Set<string>();
    // Each cancellation fails its first attempt; the paid orders go through at once.
    receiver.answer = (request) => {
      const eventId = eventIdOf(request);
      if (request.url === '/orders/cancellations' && !failedOnce.has(eventId)) {
        failedOnce.add(eventId);
        return { status: 503 };
      }
      return { status: 200 };
    };
    const eventIds = [...paid, ...cancelled].map((row) => row.eventId);
    const errors: unknown[] = [];
    startRelay(receiver.url, errors);
    await until(async () => (await statusesOf(eventIds)).DELIVERED === 6, 10_000);

    const pathsOf = (eventId: string) =>
      receiver.requests.filter((request) => eventIdOf(request) === eventId).map((request) => request.url);
    for (const row of paid) expect(pathsOf(row.eventId)).toEqual(['/orders']);
    for (const row of cancelled) {
      expect(pathsOf(row.eventId)).toEqual(['/orders/cancellations', '/orders/cancellations']);
      const last = receiver.requests.findLast((request) => eventIdOf(request) === row.eventId)!;
      expect(JSON.parse(last.body)).toEqual({ eventId: row.eventId, ...row.event.body });
      expect(last.headers['idempotency-key']).toBe(row.eventId);
    }
    // An order's event is first sent once the one before it is delivered, so its requests arrive in that order.
    const arrivalsOf = (rows: { eventId: string }[]) =>
      receiver.requests.map(eventIdOf).filter((eventId) => rows.some((row) => row.eventId === eventId));
    const [first, second, third] = cancelled.map((row) => row.eventId);
    expect(arrivalsOf([paid[0]!, cancelled[0]!, cancelled[1]!])).toEqual([
      paid[0]!.eventId,
      first,
      first,
      second,
      second,
    ]);
    expect(arrivalsOf([paid[2]!, cancelled[2]!])).toEqual([paid[2]!.eventId, third, third]);
    const { rows } = await sql<{ type: string; attempts: number; last_error: string | null }>`
      SELECT type, attempts, last_error FROM data_platform_outbox
      WHERE event_id = ANY(${eventIds}::uuid[]) ORDER BY id`.execute(database.db);
    expect(rows).toEqual([
      ...paid.map(() => ({ type: 'ORDER_PAID', attempts: 1, last_error: null })),
      ...cancelled.map(() => ({
        type: 'ORDER_CANCELLED',
        attempts: 2,
        last_error: `POST ${receiver.url}/orders/cancellations answered 503`,
      })),
    ]);
    expect(errors).toEqual([]);
  });
});
