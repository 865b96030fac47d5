import type { LocalDate } from '../../domain/statistics/shop-calendar.js';
import type { Clock } from '../ports/clock.js';
import type { ProductSales, SalesStatistics } from '../ports/sales-statistics.js';
import { MAX_POPULAR_STALENESS_MS } from '../../domain/statistics/popular-products.js';

/**
 * Sales statistics kept for `ttlMs` and computed by one query at a time, however many calls arrive while it
 * runs. The popular ranking may lag a committed order by at most MAX_POPULAR_STALENESS_MS: the TTL stays
 * below it, an answer is dated from when its query started, and a query that has run so long its answer
 * could outlive the limit is not joined. Never put it under a read that can run inside a unit of work:
 * the adapter reads on an open transaction, and what it saw there (uncommitted) would be served to all.
 */
export class CachedSalesStatistics implements SalesStatistics {
  private cached: { key: string; computedAt: number; value: ProductSales[] } | undefined;
  private inFlight: { key: string; startedAt: number; promise: Promise<ProductSales[]> } | undefined;

  private readonly ttlMs: number;
  /** How old an answer may be when it is served: MAX_POPULAR_STALENESS_MS less what its source may lag. */
  private readonly budgetMs: number;

  constructor(
    private readonly statistics: SalesStatistics,
    private readonly clock: Clock,
    {
      sourceLagMs = 0,
      ttlMs = Math.min(2_000, Math.floor((MAX_POPULAR_STALENESS_MS - sourceLagMs) / 2)),
    }: {
      /** How far behind the committed orders the source itself may be (a replica's bound). */
      sourceLagMs?: number;
      ttlMs?: number;
    } = {},
  ) {
    this.budgetMs = MAX_POPULAR_STALENESS_MS - sourceLagMs;
    if (ttlMs <= 0 || ttlMs >= this.budgetMs) throw new Error(`ttlMs must be between 0 and ${this.budgetMs}`);
    this.ttlMs = ttlMs;
  }

  async topSellers(firstDay: LocalDate, lastDay: LocalDate, limit: number): Promise<ProductSales[]> {
    const key = `${firstDay}..${lastDay}/${limit}`;
    const now = this.clock.now().getTime();
    const cached = this.cached;
    if (cached?.key === key && now - cached.computedAt < this.ttlMs) return cached.value;
    // Join the query in flight only while what it will return is still fresh enough to keep for the TTL.
    const inFlight = this.inFlight;
    if (inFlight?.key === key && now - inFlight.startedAt < this.budgetMs - this.ttlMs) {
      return inFlight.promise;
    }

    const promise = this.query(key, now, firstDay, lastDay, limit);
    this.inFlight = { key, startedAt: now, promise };
    try {
      return await promise;
    } finally {
      if (this.inFlight?.promise === promise) this.inFlight = undefined;
    }
  }

  private async query(
    key: string,
    startedAt: number,
    firstDay: LocalDate,
    lastDay: LocalDate,
    limit: number,
  ): Promise<ProductSales[]> {
    const value = await this.statistics.topSellers(firstDay, lastDay, limit);
    // Dated from when the query started: what it saw is at least that fresh.
    this.cached = { key, computedAt: startedAt, value };
    return value;
  }
}
