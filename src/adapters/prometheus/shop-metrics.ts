import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  DELIVERY_OUTCOMES,
  type DeliveryOutcome,
  type DeliveryOutcomes,
} from '../../application/ports/delivery-outcomes.js';
import type { OutboxBacklog, OutboxStatistics } from '../../application/ports/outbox-statistics.js';

/** The operations whose outcomes are counted, each by what it answered. */
export type CountedOperation = 'ORDER' | 'COUPON_ISSUE' | 'LOGIN';

/** A database pool's connections now (pg's totalCount, idleCount, waitingCount and its max). */
export interface PoolCounts {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
  readonly max: number;
}

/** The read replicas as a scrape finds them, and the catalog reads answered so far by each source. */
export interface ReplicaFigures {
  /** `name` is host:port; `lagSeconds` undefined while unknown (the replica down, or not yet checked). */
  readonly replicas: readonly { name: string; up: boolean; lagSeconds: number | undefined }[];
  /** By a replica's name, or 'primary'. */
  readonly reads: ReadonlyMap<string, number>;
}

export interface ShopMetricsOptions {
  readonly outbox: OutboxStatistics;
  /** Read at each scrape; none in memory. */
  readonly pool?: (() => PoolCounts) | undefined;
  /** Read at each scrape; none without replicas. */
  readonly replicas?: (() => ReplicaFigures) | undefined;
  /** How long a scrape waits for the outbox figures before it answers without them. */
  readonly outboxReadTimeoutMs?: number;
  /** Told when the outbox figures could not be read (the scrape still answers). */
  readonly onCollectError?: (error: unknown) => void;
}

/**
 * Every series GET /metrics serves, in one registry per container: process metrics, the request histogram,
 * what orders, coupon issues and logins came to, delivery outcomes (the relay tells them), and gauges read at
 * scrape time from the outbox and the database pool. Labels are bounded enums only (routes, statuses, error
 * codes): never an id or an email.
 */
export class ShopMetrics implements DeliveryOutcomes {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly succeeded: Record<CountedOperation, Counter>;
  private readonly refused: Record<CountedOperation, Counter<'code'>>;
  private readonly deliveries: Counter<'outcome'>;
  private readonly outbox: OutboxStatistics;
  private readonly outboxReadTimeoutMs: number;
  private readonly onCollectError: (error: unknown) => void;
  private outboxRead: Promise<OutboxBacklog[] | undefined> | undefined;
  private readonly pool: (() => PoolCounts) | undefined;
  /** The pool as a scrape found it, before its own outbox read asked for a connection. */
  private poolAtScrape: PoolCounts | undefined;

  constructor({
    outbox,
    pool,
    replicas,
    outboxReadTimeoutMs = 2_000,
    onCollectError = () => undefined,
  }: ShopMetricsOptions) {
    this.outbox = outbox;
    this.outboxReadTimeoutMs = outboxReadTimeoutMs;
    this.onCollectError = onCollectError;
    this.pool = pool;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    const byCode = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['code'] as const, registers });
    this.succeeded = {
      ORDER: counter('shop_orders_placed_total', 'Orders placed (paid)'),
      COUPON_ISSUE: counter('shop_coupons_issued_total', 'Coupon copies issued'),
      LOGIN: counter('shop_logins_succeeded_total', 'Password logins that issued tokens'),
    };
    this.refused = {
      ORDER: byCode('shop_orders_refused_total', 'Orders refused (4xx), by problem code'),
      COUPON_ISSUE: byCode('shop_coupons_refused_total', 'Coupon issues refused (4xx), by problem code'),
      LOGIN: byCode(
        'shop_logins_refused_total',
        'Password logins refused (4xx), by problem code: INVALID_CREDENTIALS a failure, TOO_MANY_REQUESTS locked out',
      ),
    };
    this.deliveries = new Counter({
      name: 'shop_outbox_delivery_attempts_total',
      help: 'Data platform delivery attempts by recorded outcome: DELIVERED, RETRY_SCHEDULED or PARKED (FAILED)',
      labelNames: ['outcome'] as const,
      registers,
    });
    // Every outcome from the start, so rate() and increase() see the first one.
    for (const outcome of DELIVERY_OUTCOMES) this.deliveries.inc({ outcome }, 0);
    this.registerOutboxGauges();
    if (pool) this.registerPoolGauges();
    if (replicas) this.registerReplicaGauges(replicas);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; never rejects for a figure that could not be read. */
  scrape(): Promise<string> {
    this.poolAtScrape = this.pool?.();
    return this.registry.metrics();
  }

  record(outcome: DeliveryOutcome): void {
    this.deliveries.inc({ outcome });
  }

  observeRequest(labels: { method: string; route: string; status_code: number }, seconds: number): void {
    this.requestDuration.observe(labels, seconds);
  }

  /** A 2xx is a success; a 4xx a refusal, by its problem code; a 5xx is neither (the request histogram has it). */
  countOutcome(operation: CountedOperation, statusCode: number, code: string | undefined): void {
    if (statusCode >= 200 && statusCode < 300) this.succeeded[operation].inc();
    else if (statusCode >= 400 && statusCode < 500) this.refused[operation].inc({ code: code ?? 'UNKNOWN' });
  }

  private registerOutboxGauges(): void {
    const read = () => this.readOutbox();
    new Gauge({
      name: 'shop_outbox_statistics_up',
      help: 'Whether this scrape read the outbox figures (0: the database did not answer in time)',
      registers: [this.registry],
      async collect() {
        this.set((await read()) ? 1 : 0);
      },
    });
    const byStatus = (name: string, help: string, value: (backlog: OutboxBacklog) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['status'] as const,
        registers: [this.registry],
        async collect() {
          const backlog = await read();
          // No figure rather than a stale one: the alerts on them then stay silent, and the _up one fires.
          this.reset();
          for (const entry of backlog ?? []) this.set({ status: entry.status }, value(entry));
        },
      });
    byStatus(
      'shop_outbox_backlog_events',
      'Outbox events not delivered, by status: PENDING (due or retrying) and FAILED (parked for an operator); database-wide',
      (entry) => entry.events,
    );
    byStatus(
      'shop_outbox_held_back_events',
      'Outbox events waiting on an undelivered earlier event of their order (a parked one holds them until an operator retries it), by status; database-wide',
      (entry) => entry.heldBack,
    );
    byStatus(
      'shop_outbox_oldest_event_age_seconds',
      'Age of the oldest undelivered outbox event, by status (0 when there is none); database-wide',
      (entry) => entry.oldestAgeSeconds,
    );
  }

  /** One read shared by the gauges of a scrape (the registry collects them at once), bounded in time. */
  private backlogQuery: Promise<OutboxBacklog[]> | undefined;

  private readOutbox(): Promise<OutboxBacklog[] | undefined> {
    this.outboxRead ??= this.boundedOutboxRead().finally(() => (this.outboxRead = undefined));
    return this.outboxRead;
  }

  private async boundedOutboxRead(): Promise<OutboxBacklog[] | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the outbox figures took longer than ${this.outboxReadTimeoutMs} ms`)),
        this.outboxReadTimeoutMs,
      );
    });
    try {
      // One query at a time, however many scrapes come: one slower than the bound is still waited for
      // (each scrape up to the bound), never joined by another while it runs.
      this.backlogQuery ??= this.outbox.backlog().finally(() => (this.backlogQuery = undefined));
      return await Promise.race([this.backlogQuery, timeout]);
    } catch (error) {
      try {
        this.onCollectError(error);
      } catch {
        // A failing logger must not fail the scrape.
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private registerReplicaGauges(figures: () => ReplicaFigures): void {
    const registers = [this.registry];
    new Gauge({
      name: 'shop_db_replica_up',
      help: 'Whether a read replica (host:port) answered its last check as a standby: 1 or 0',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        for (const { name, up } of figures().replicas) this.set({ replica: name }, up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'shop_db_replica_lag_seconds',
      help: 'How far behind the primary a read replica may be; absent while unknown',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        this.reset();
        for (const { name, lagSeconds } of figures().replicas)
          if (lagSeconds !== undefined) this.set({ replica: name }, lagSeconds);
      },
    });
    new Counter({
      name: 'shop_db_catalog_reads_total',
      help: "Catalog reads answered, by source: a replica's host:port, or primary",
      labelNames: ['source'] as const,
      registers,
      collect() {
        this.reset();
        for (const [source, count] of figures().reads) this.inc({ source }, count);
      },
    });
  }

  private registerPoolGauges(): void {
    const counts = () => this.poolAtScrape ?? this.pool!();
    const gauge = (name: string, help: string, value: (counts: PoolCounts) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(value(counts()));
        },
      });
    gauge(
      'shop_db_pool_connections',
      "Database connections open in this instance's pool, idle or in use",
      (p) => p.total,
    );
    gauge('shop_db_pool_idle_connections', 'Database connections open and idle', (p) => p.idle);
    gauge('shop_db_pool_waiting_clients', 'Queries waiting for a database connection', (p) => p.waiting);
    gauge('shop_db_pool_max_connections', "The pool's maximum (DATABASE_POOL_SIZE)", (p) => p.max);
  }
}
