import { POPULAR_PRODUCTS_LIMIT, type PopularProducts } from '../../domain/statistics/popular-products.js';
import { salesWindow } from '../../domain/statistics/shop-calendar.js';
import type { Clock } from '../ports/clock.js';
import type { SalesStatistics } from '../ports/sales-statistics.js';

/**
 * The top sellers over today and the two days before it in the shop's time zone. The statistics it is given
 * may lag by up to MAX_POPULAR_STALENESS_MS; the composition root gives it a CachedSalesStatistics.
 */
export class GetPopularProducts {
  constructor(
    private readonly statistics: SalesStatistics,
    private readonly clock: Clock,
    private readonly timeZone: string,
  ) {}

  async execute(): Promise<PopularProducts> {
    const window = salesWindow(this.clock.now(), this.timeZone);
    const sellers = await this.statistics.topSellers(window.firstDay, window.lastDay, POPULAR_PRODUCTS_LIMIT);
    return { window, items: sellers.map((seller, index) => ({ rank: index + 1, ...seller })) };
  }
}
