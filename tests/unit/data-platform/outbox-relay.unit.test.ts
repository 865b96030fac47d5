import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type DeliveryRound, OutboxRelay } from '../../../src/adapters/data-platform/outbox-relay.js';

/** A round that plays a script: a number handled, or an error thrown; then finds nothing. */
class ScriptedRound implements DeliveryRound {
  readonly batchSize = 10;
  readonly startedAt: number[] = [];
  inFlight = 0;
  finished = 0;

  constructor(
    private readonly script: (number | Error)[],
    private readonly durationMs = 0,
  ) {}

  async dispatch(): Promise<number> {
    this.startedAt.push(performance.now());
    this.inFlight++;
    try {
      if (this.durationMs > 0) await sleep(this.durationMs);
      const step = this.script.shift() ?? 0;
      if (step instanceof Error) throw step;
      return step;
    } finally {
      this.inFlight--;
      this.finished++;
    }
  }

  async drain(): Promise<void> {}
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

describe('OutboxRelay', () => {
  it('goes again at once while rounds come back full, then waits the poll interval', async () => {
    const round = new ScriptedRound([10, 10, 10, 3]);
    const relay = new OutboxRelay(round, { pollIntervalMs: 300, onError: () => undefined });

    relay.start();
    await until(() => round.startedAt.length >= 5);
    await relay.stop();

    const gaps = round.startedAt.slice(1).map((at, i) => at - round.startedAt[i]!);
    expect(gaps.slice(0, 3).every((gap) => gap < 100)).toBe(true);
    expect(gaps[3]).toBeGreaterThanOrEqual(290);
  });

  it('reports a failed round, pauses, and carries on', async () => {
    const errors: unknown[] = [];
    const round = new ScriptedRound([new Error('database down'), new Error('still down'), 2]);
    const relay = new OutboxRelay(round, {
      pollIntervalMs: 10,
      errorPauseMs: 100,
      onError: (error) => errors.push(error),
    });

    relay.start();
    await until(() => round.finished >= 4);
    await relay.stop();

    expect(errors.map((error) => (error as Error).message)).toEqual(['database down', 'still down']);
    expect(round.startedAt[1]! - round.startedAt[0]!).toBeGreaterThanOrEqual(95);
  });

  it('survives an onError that throws', async () => {
    const round = new ScriptedRound([new Error('boom'), 1]);
    const relay = new OutboxRelay(round, {
      pollIntervalMs: 10,
      errorPauseMs: 10,
      onError: () => {
        throw new Error('logger broken');
      },
    });

    relay.start();
    await until(() => round.finished >= 3);
    await relay.stop();

    expect(round.finished).toBeGreaterThanOrEqual(3);
  });

  it('stops after the round in flight has finished, and starts no other', async () => {
    const round = new ScriptedRound([], 150);
    const relay = new OutboxRelay(round, { pollIntervalMs: 5_000, onError: () => undefined });

    relay.start();
    await until(() => round.inFlight === 1);
    await relay.stop();

    expect({ inFlight: round.inFlight, started: round.startedAt.length, finished: round.finished }).toEqual({
      inFlight: 0,
      started: 1,
      finished: 1,
    });
    await sleep(50);
    expect(round.startedAt).toHaveLength(1);
  });

  it('stops at once while waiting between rounds', async () => {
    const round = new ScriptedRound([]);
    const relay = new OutboxRelay(round, { pollIntervalMs: 60_000, onError: () => undefined });
    relay.start();
    await until(() => round.finished === 1);

    const started = performance.now();
    await relay.stop();

    expect(performance.now() - started).toBeLessThan(100);
    expect(round.startedAt).toHaveLength(1);
  });
});
