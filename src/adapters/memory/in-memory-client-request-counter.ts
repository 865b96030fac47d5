import type { ClientRequestCount, ClientRequestCounter } from '../../application/ports/client-request-counter.js';
import type { Clock } from '../../application/ports/clock.js';

/** Single-threaded, so "read, then add" is already one step; timed by the given clock, kept per instance. */
export class InMemoryClientRequestCounter implements ClientRequestCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  async count(clientAddress: string, windowMs: number): Promise<ClientRequestCount> {
    const now = this.clock.now().getTime();
    const current = this.windows.get(clientAddress);
    const window =
      current && current.start > now - windowMs ? { ...current, count: current.count + 1 } : { start: now, count: 1 };
    this.windows.set(clientAddress, window);
    return { count: window.count, windowEndsInMs: window.start + windowMs - now };
  }

  async purge(windowMs: number): Promise<number> {
    const cutoff = this.clock.now().getTime() - windowMs;
    let purged = 0;
    for (const [address, window] of this.windows)
      if (window.start <= cutoff) {
        this.windows.delete(address);
        purged++;
      }
    return purged;
  }
}
