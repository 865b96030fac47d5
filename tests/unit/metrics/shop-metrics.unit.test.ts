import { describe, expect, it } from 'vitest';
import type { OutboxBacklog, OutboxStatistics } from '../../../src/application/ports/outbox-statistics.js';
import { type ReplicaFigures, ShopMetrics } from '../../../src/adapters/prometheus/shop-metrics.js';

const BACKLOG: OutboxBacklog[] = [
  { status: 'PENDING', events: 3, oldestAgeSeconds: 12.5, heldBack: 2 },
  { status: 'FAILED', events: 1, oldestAgeSeconds: 90, heldBack: 0 },
];

/** Answers as `answer` says, counting its reads. */
function outbox(answer: () => Promise<OutboxBacklog[]>): OutboxStatistics & { reads: number } {
  const statistics = {
    reads: 0,
    backlog: () => {
      statistics.reads++;
      return answer();
    },
  };
  return statistics;
}

const line = (text: string, series: string) => text.split('\n').find((candidate) => candidate.startsWith(`${series} `));

describe('ShopMetrics', () => {
  it('reads the outbox once per scrape for all its gauges', async () => {
    const statistics = outbox(async () => BACKLOG);
    const metrics = new ShopMetrics({ outbox: statistics });

    const text = await metrics.scrape();

    expect(statistics.reads).toBe(1);
    expect(line(text, 'shop_outbox_held_back_events{status="PENDING"}')).toBe(
      'shop_outbox_held_back_events{status="PENDING"} 2',
    );
    expect(line(text, 'shop_outbox_backlog_events{status="PENDING"}')).toBe(
      'shop_outbox_backlog_events{status="PENDING"} 3',
    );
    expect(line(text, 'shop_outbox_oldest_event_age_seconds{status="FAILED"}')).toMatch(/ 90$/);
    expect(line(text, 'shop_outbox_statistics_up')).toBe('shop_outbox_statistics_up 1');
  });

  it('starts no second outbox read while a slow one runs, however many scrapes come', async () => {
    const statistics = outbox(() => new Promise<never>(() => undefined));
    const metrics = new ShopMetrics({ outbox: statistics, outboxReadTimeoutMs: 20 });

    for (let scrape = 0; scrape < 5; scrape++) await metrics.scrape();

    expect(statistics.reads).toBe(1);
  });

  it('answers without the outbox figures, rather than hang, when the read takes longer than its bound', async () => {
    const errors: unknown[] = [];
    const metrics = new ShopMetrics({
      outbox: outbox(() => new Promise<never>(() => undefined)),
      outboxReadTimeoutMs: 50,
      onCollectError: (error) => errors.push(error),
    });

    const started = performance.now();
    const text = await metrics.scrape();

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(line(text, 'shop_outbox_statistics_up')).toBe('shop_outbox_statistics_up 0');
    expect(text).not.toMatch(/^shop_outbox_backlog_events\{/m);
    expect(String(errors[0])).toMatch(/longer than 50 ms/);
  });

  it('drops the figures of an earlier scrape once a read fails, and survives a failing error listener', async () => {
    let fail = false;
    const metrics = new ShopMetrics({
      outbox: outbox(async () => {
        if (fail) throw new Error('connection refused');
        return BACKLOG;
      }),
      onCollectError: () => {
        throw new Error('the logger is broken too');
      },
    });
    expect(await metrics.scrape()).toMatch(/^shop_outbox_backlog_events\{status="PENDING"\} 3$/m);

    fail = true;
    const text = await metrics.scrape();

    expect(text).not.toMatch(/^shop_outbox_(backlog_events|oldest_event_age_seconds)\{/m);
    expect(line(text, 'shop_outbox_statistics_up')).toBe('shop_outbox_statistics_up 0');
  });

  it('counts a 2xx as a success, a 4xx as a refusal by its code, and a 5xx as neither', async () => {
    const metrics = new ShopMetrics({ outbox: outbox(async () => BACKLOG) });
    metrics.countOutcome('ORDER', 201, undefined);
    metrics.countOutcome('ORDER', 409, 'INSUFFICIENT_STOCK');
    metrics.countOutcome('ORDER', 409, 'INSUFFICIENT_STOCK');
    metrics.countOutcome('ORDER', 503, 'SERVICE_UNAVAILABLE');

    const text = await metrics.scrape();

    expect(line(text, 'shop_orders_placed_total')).toBe('shop_orders_placed_total 1');
    expect(line(text, 'shop_orders_refused_total{code="INSUFFICIENT_STOCK"}')).toMatch(/ 2$/);
    expect(text).not.toMatch(/SERVICE_UNAVAILABLE"\}/);
  });

  it('serves no pool gauges without a pool (in memory), and reads them before its own outbox read', async () => {
    expect(await new ShopMetrics({ outbox: outbox(async () => BACKLOG) }).scrape()).not.toMatch(/shop_db_pool/);

    let waiting = 0;
    const metrics = new ShopMetrics({
      outbox: outbox(async () => {
        waiting++; // as pg counts the scrape's own query while it waits for a connection
        return BACKLOG;
      }),
      pool: () => ({ total: 2, idle: 2, waiting, max: 20 }),
    });
    const text = await metrics.scrape();
    expect(line(text, 'shop_db_pool_waiting_clients')).toBe('shop_db_pool_waiting_clients 0');
    expect(line(text, 'shop_db_pool_max_connections')).toBe('shop_db_pool_max_connections 20');
  });

  it('shows each read replica as up or down, its lag only while known, and the catalog reads by source', async () => {
    const metrics = new ShopMetrics({
      outbox: outbox(async () => BACKLOG),
      replicas: () => ({
        replicas: [
          { name: 'replica-1:5432', up: true, lagSeconds: 0.25 },
          { name: 'replica-2:5432', up: false, lagSeconds: undefined },
        ],
        reads: new Map([
          ['replica-1:5432', 3],
          ['primary', 2],
        ]),
      }),
    });

    const text = await metrics.scrape();

    expect(line(text, 'shop_db_replica_up{replica="replica-1:5432"}')).toBe(
      'shop_db_replica_up{replica="replica-1:5432"} 1',
    );
    expect(line(text, 'shop_db_replica_up{replica="replica-2:5432"}')).toBe(
      'shop_db_replica_up{replica="replica-2:5432"} 0',
    );
    expect(line(text, 'shop_db_replica_lag_seconds{replica="replica-1:5432"}')).toBe(
      'shop_db_replica_lag_seconds{replica="replica-1:5432"} 0.25',
    );
    // Unknown is no figure at all, rather than a 0 that would read as caught up.
    expect(text).not.toMatch(/^shop_db_replica_lag_seconds\{replica="replica-2:5432"\}/m);
    expect(line(text, 'shop_db_catalog_reads_total{source="replica-1:5432"}')).toBe(
      'shop_db_catalog_reads_total{source="replica-1:5432"} 3',
    );
    expect(line(text, 'shop_db_catalog_reads_total{source="primary"}')).toBe(
      'shop_db_catalog_reads_total{source="primary"} 2',
    );
  });

  it('shows the figures as they are at each scrape: totals not added twice, a lag gone once unknown', async () => {
    let figures: ReplicaFigures = {
      replicas: [{ name: 'replica-1:5432', up: true, lagSeconds: 0.25 }],
      reads: new Map([['replica-1:5432', 3]]),
    };
    const metrics = new ShopMetrics({ outbox: outbox(async () => BACKLOG), replicas: () => figures });
    await metrics.scrape();

    figures = {
      replicas: [{ name: 'replica-1:5432', up: false, lagSeconds: undefined }],
      reads: new Map([['replica-1:5432', 4]]),
    };
    const text = await metrics.scrape();

    expect(line(text, 'shop_db_replica_up{replica="replica-1:5432"}')).toMatch(/ 0$/);
    expect(text).not.toMatch(/^shop_db_replica_lag_seconds\{/m);
    expect(line(text, 'shop_db_catalog_reads_total{source="replica-1:5432"}')).toMatch(/ 4$/);
  });

  it('serves no replica series without replicas', async () => {
    const text = await new ShopMetrics({ outbox: outbox(async () => BACKLOG) }).scrape();

    expect(text).not.toMatch(/shop_db_replica_|shop_db_catalog_reads/);
  });
});
