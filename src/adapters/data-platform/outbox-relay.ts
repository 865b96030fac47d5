import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** One round of delivery: DeliverDueEvents, or a stand-in in tests. */
export interface DeliveryRound {
  readonly batchSize: number;
  /**
   * Claims up to a batch and starts their sends; how many it claimed. It may leave sends in flight, and claims
   * no more once `stop` is aborted.
   */
  dispatch(stop: AbortSignal): Promise<number>;
  /** Resolves once the sends still in flight have finished and their outcomes are recorded. */
  drain(): Promise<void>;
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
 * every `pollIntervalMs`. A round does not wait for its sends: those go on in flight while the next rounds
 * claim more. It never throws: a failed round is reported and tried again after a pause.
 */
export class OutboxRelay {
  private readonly pollIntervalMs: number;
  private readonly errorPauseMs: number;
  private readonly onError: (error: unknown) => void;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stopping = new AbortController();

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
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  /** Resolves once the round in flight, if any, then every send in flight, have finished; no round starts after it. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    try {
      await this.round.drain();
    } catch (error) {
      this.report(error);
    }
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
      const handled = await this.round.dispatch(this.stopping.signal);
      return handled >= this.round.batchSize ? 0 : this.pollIntervalMs;
    } catch (error) {
      this.report(error);
      return this.errorPauseMs;
    }
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // A failing logger must not stop deliveries.
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
