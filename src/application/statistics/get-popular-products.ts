import { POPULAR_PRODUCTS_LIMIT, type PopularProducts } from '../../domain/statistics/popular-products.js';
import { salesWindow } from '../../domain/statistics/shop-calendar.js';
import type { Clock } from '../ports/clock.js';
import type { SalesStatistics } from '../ports/sales-statistics.js';

/** The contract lets the ranking lag a committed order by at most this much. */
export const MAX_POPULAR_STALENESS_MS = 5_000;

/**
 * The top sellers over today and the two days before it in the shop's time zone. The answer is kept for
 * `ttlMs` (it may lag by at most 5 s, and the TTL plus one query stays well under that) and computed by
 * one query at a time, however many requests arrive while it runs.
 */
export class GetPopularProducts {
  private cached: { firstDay: string; computedAt: number; value: PopularProducts } | undefined;
  private inFlight: { firstDay: string; startedAt: number; promise: Promise<PopularProducts> } | undefined;

  constructor(
    private readonly statistics: SalesStatistics,
    private readonly clock: Clock,
    private readonly timeZone: string,
    private readonly ttlMs = 2_000,
  ) {
    if (ttlMs >= MAX_POPULAR_STALENESS_MS) throw new Error(`ttlMs must be below ${MAX_POPULAR_STALENESS_MS}`);
  }

  async execute(): Promise<PopularProducts> {
    const now = this.clock.now();
    const window = salesWindow(now, this.timeZone);
    const cached = this.cached;
    if (cached && cached.firstDay === window.firstDay && now.getTime() - cached.computedAt < this.ttlMs)
      return cached.value;
    // Join the query in flight only while what it will return is still fresh enough to keep for the TTL.
    const inFlight = this.inFlight;
    if (
      inFlight?.firstDay === window.firstDay &&
      now.getTime() - inFlight.startedAt < MAX_POPULAR_STALENESS_MS - this.ttlMs
    ) {
      return inFlight.promise;
    }

    const promise = this.compute(window, now.getTime());
    this.inFlight = { firstDay: window.firstDay, startedAt: now.getTime(), promise };
    try {
      return await promise;
    } finally {
      if (this.inFlight?.promise === promise) this.inFlight = undefined;
    }
  }

  private async compute(window: PopularProducts['window'], startedAt: number): Promise<PopularProducts> {
    const sellers = await this.statistics.topSellers(window.firstDay, window.lastDay, POPULAR_PRODUCTS_LIMIT);
    const value = { window, items: sellers.map((seller, index) => ({ rank: index + 1, ...seller })) };
    // Dated from when the query started: what it saw is at least that fresh.
    this.cached = { firstDay: window.firstDay, computedAt: startedAt, value };
    return value;
  }
}
