import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/adapters/memory/manual-clock.js';
import type { ProductSales, SalesStatistics } from '../../../src/application/ports/sales-statistics.js';
import { CachedSalesStatistics } from '../../../src/application/statistics/cached-sales-statistics.js';
import { GetPopularProducts } from '../../../src/application/statistics/get-popular-products.js';
import { Product } from '../../../src/domain/product/product.js';

/** 12:00 KST on 2026-11-24: the window is 2026-11-22..24 KST. */
const NOW = '2026-11-24T03:00:00.000Z';

/** The days the ranking asks for at NOW. */
const threeDays = (statistics: SalesStatistics) => statistics.topSellers('2026-11-22', '2026-11-24', 5);

/** The popular ranking over the cache, as the composition root wires it. */
const popularOver = (statistics: SalesStatistics, clock: ManualClock) =>
  new GetPopularProducts(new CachedSalesStatistics(statistics, clock), clock, 'Asia/Seoul');

/** Sales statistics that count their calls and answer only when released, each query with an array of its own. */
class GatedStatistics implements SalesStatistics {
  readonly calls: [firstDay: string, lastDay: string, limit: number][] = [];
  private releases: (() => void)[] = [];
  private failures: ((error: Error) => void)[] = [];

  constructor(private readonly answer: ProductSales[]) {}

  topSellers(firstDay: string, lastDay: string, limit: number): Promise<ProductSales[]> {
    this.calls.push([firstDay, lastDay, limit]);
    return new Promise((resolve, reject) => {
      this.releases.push(() => resolve([...this.answer]));
      this.failures.push(reject);
    });
  }

  get pending(): number {
    return this.releases.length;
  }

  release(): void {
    const releases = this.releases;
    this.releases = [];
    this.failures = [];
    for (const release of releases) release();
  }

  fail(error: Error): void {
    const failures = this.failures;
    this.releases = [];
    this.failures = [];
    for (const fail of failures) fail(error);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('CachedSalesStatistics: one query at a time', () => {
  const answer: ProductSales[] = [
    { product: new Product({ id: 7, name: 'Mug', price: 12_000, stock: 3 }), soldQuantity: 4 },
  ];

  it('shares one query among calls that arrive while it runs', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    const cached = new CachedSalesStatistics(statistics, clock);

    const calls: Promise<ProductSales[]>[] = [];
    for (let i = 0; i < 10; i++) {
      calls.push(threeDays(cached));
      clock.advance(100); // still inside one computation, which has not answered yet
      await settle();
    }
    expect(statistics.calls).toEqual([['2026-11-22', '2026-11-24', 5]]);

    statistics.release();
    const results = await Promise.all(calls);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toEqual([{ product: answer[0]!.product, soldQuantity: 4 }]);
    expect(statistics.calls).toHaveLength(1);
  });

  it('does not join a query that has run so long its answer could end up more than 5 s old', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    const popular = popularOver(statistics, clock);

    const slow = popular.execute();
    await settle();
    clock.advance(2_999); // 5 s − the 2 s TTL − 1 ms: still worth joining
    const joined = popular.execute();
    await settle();
    expect(statistics.calls).toHaveLength(1);
    clock.advance(1);
    const fresh = popular.execute();
    await settle();
    expect(statistics.calls).toHaveLength(2);

    statistics.release();
    await Promise.all([slow, joined, fresh]);
  });

  it('answers from the cache within the TTL without a query, then queries once more', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    const cached = new CachedSalesStatistics(statistics, clock);
    const first = threeDays(cached);
    await settle();
    statistics.release();
    const value = await first;

    clock.advance(1_999);
    await expect(threeDays(cached)).resolves.toBe(value);
    expect(statistics.calls).toHaveLength(1);

    clock.advance(1);
    const second = Promise.all([threeDays(cached), threeDays(cached), threeDays(cached)]);
    await settle();
    expect(statistics.calls).toHaveLength(2);
    statistics.release();
    const [x, y, z] = await second;
    expect(x).not.toBe(value);
    expect(new Set([x, y, z]).size).toBe(1);
  });

  it('dates the cached answer from when its query started', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    const popular = popularOver(statistics, clock);
    const first = popular.execute();
    await settle();
    clock.advance(1_500); // the query took 1.5 s
    statistics.release();
    await first;

    clock.advance(500); // 2 s after the query started: stale
    const next = popular.execute();
    await settle();
    expect(statistics.calls).toHaveLength(2);
    statistics.release();
    await expect(next).resolves.toMatchObject({ items: [{ rank: 1, soldQuantity: 4 }] });
  });

  it('starts a query of its own for the new days when 00:00 KST passes during one', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock('2026-11-24T14:59:59.000Z');
    const popular = popularOver(statistics, clock);
    const before = popular.execute();
    await settle();
    clock.advance(1_000); // 00:00 KST, 2026-11-25
    const after = popular.execute();
    await settle();

    expect(statistics.calls).toEqual([
      ['2026-11-22', '2026-11-24', 5],
      ['2026-11-23', '2026-11-25', 5],
    ]);
    statistics.release();
    await expect(before).resolves.toMatchObject({ window: { firstDay: '2026-11-22' } });
    await expect(after).resolves.toMatchObject({ window: { firstDay: '2026-11-23' } });
  });

  it('caches no failure: every caller of the failed query gets the error, the next call queries again', async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    const popular = popularOver(statistics, clock);
    const failing = [popular.execute(), popular.execute()];
    await settle();
    expect(statistics.pending).toBe(1);
    statistics.fail(new Error('database down'));
    for (const call of failing) await expect(call).rejects.toThrow('database down');

    const retry = popular.execute();
    await settle();
    expect(statistics.calls).toHaveLength(2);
    statistics.release();
    await expect(retry).resolves.toMatchObject({ items: [{ soldQuantity: 4 }] });
  });

  it('refuses a TTL of 5 s or more, which could break the 5 s lag promise', () => {
    const statistics = new GatedStatistics([]);
    const clock = new ManualClock(NOW);
    expect(() => new CachedSalesStatistics(statistics, clock, { ttlMs: 5_000 })).toThrow(/ttlMs/);
    expect(() => new CachedSalesStatistics(statistics, clock, { ttlMs: 60_000 })).toThrow(/ttlMs/);
    expect(() => new CachedSalesStatistics(statistics, clock, { ttlMs: 4_999 })).not.toThrow();
    expect(() => new CachedSalesStatistics(statistics, clock)).not.toThrow();
  });

  it("counts a replica's lag against the 5 s: a shorter TTL allowed, and no older query joined", async () => {
    const statistics = new GatedStatistics(answer);
    const clock = new ManualClock(NOW);
    expect(() => new CachedSalesStatistics(statistics, clock, { sourceLagMs: 1_000, ttlMs: 4_000 })).toThrow(/ttlMs/);
    const cached = new CachedSalesStatistics(statistics, clock, { sourceLagMs: 1_000 });

    const slow = threeDays(cached);
    await settle();
    clock.advance(1_999);
    const joined = threeDays(cached);
    await settle();
    expect(statistics.calls).toHaveLength(1);
    // Its answer, 1 s behind at the start and kept 2 s, would be served past 5 s: a query of its own instead.
    clock.advance(1);
    const fresh = threeDays(cached);
    await settle();
    expect(statistics.calls).toHaveLength(2);
    statistics.release();
    await Promise.all([slow, joined, fresh]);
  });
});
