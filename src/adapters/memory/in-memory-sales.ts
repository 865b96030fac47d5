import type { ProductSales, SalesStatistics } from '../../application/ports/sales-statistics.js';
import { Product } from '../../domain/product/product.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';
import type { InMemoryStore } from './in-memory-store.js';

/** What the checkout and cancellation fakes write through `addDailySales`, read as the port reads it. */
export class InMemorySales implements SalesStatistics {
  constructor(private readonly store: InMemoryStore) {}

  async topSellers(firstDay: LocalDate, lastDay: LocalDate, limit: number): Promise<ProductSales[]> {
    const sold = new Map<number, number>();
    for (const [key, quantity] of this.store.state.dailySales) {
      const [day = '', productId] = key.split('|');
      if (day >= firstDay && day <= lastDay) sold.set(Number(productId), (sold.get(Number(productId)) ?? 0) + quantity);
    }
    return [...sold]
      .filter(([, quantity]) => quantity > 0)
      .sort(([idA, a], [idB, b]) => b - a || idA - idB)
      .slice(0, limit)
      .map(([productId, soldQuantity]) => {
        return { product: new Product(this.store.state.products.get(productId)!), soldQuantity };
      });
  }
}
