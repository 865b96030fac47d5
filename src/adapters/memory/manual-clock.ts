import type { Clock } from '../../application/ports/clock.js';

/** A clock that moves only when told: for tests of expiry, windows and time zones. */
export class ManualClock implements Clock {
  private current: Date;

  constructor(start: Date | string = '2026-11-24T03:00:00.000Z') {
    this.current = new Date(start);
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
