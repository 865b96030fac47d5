import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** One round of delivery: DeliverDueEvents, or a stand-in in tests. */
export interface DeliveryRound {
  readonly batchSize: number;
  /** How many deliveries the round handled. */
  execute(): Promise<number>;
}

export interface OutboxRelayOptions {
  /** The pause after a round that found less than a full batch. */
  readonly pollIntervalMs?: number;
  /** The pause after a round that failed (the database down, say). */
  readonly errorPauseMs?: number;
  readonly onError: (error: unknown) => void;
}

/**
 * Drains the outbox in the background: round after round, at once while rounds come back full, otherwise
 * every `pollIntervalMs`. It never throws: a failed round is reported and tried again after a pause.
 */
export class OutboxRelay {
  private readonly pollIntervalMs: number;
  private readonly errorPauseMs: number;
  private readonly onError: (error: unknown) => void;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly round: DeliveryRound,
    { pollIntervalMs = 200, errorPauseMs = 1_000, onError }: OutboxRelayOptions,
  ) {
    this.pollIntervalMs = pollIntervalMs;
    this.errorPauseMs = errorPauseMs;
    this.onError = onError;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the round in flight, if any, has finished; no round starts after it. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const pause = await this.roundThenPause();
      if (!this.running) break;
      if (pause > 0) await this.sleep(pause);
      else await yieldToEventLoop();
    }
  }

  private async roundThenPause(): Promise<number> {
    try {
      const handled = await this.round.execute();
      return handled >= this.round.batchSize ? 0 : this.pollIntervalMs;
    } catch (error) {
      try {
        this.onError(error);
      } catch {
        // A failing logger must not stop deliveries.
      }
      return this.errorPauseMs;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
