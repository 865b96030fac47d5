import type { CompiledQuery } from 'kysely';
import type pg from 'pg';
import { createDb } from '../../src/adapters/postgres/database.js';
import { PgSalesStatistics } from '../../src/adapters/postgres/pg-sales-statistics.js';
import { POPULAR_PRODUCTS_LIMIT } from '../../src/domain/statistics/popular-products.js';
import { type LocalDate, localDateOf } from '../../src/domain/statistics/shop-calendar.js';
import { generateOrderLines } from '../generate.js';
import { type Row, progressBar, row, runLoad, scaled, statsOf } from '../harness.js';
import type { Scenario, ScenarioContext } from './scenario.js';

const REQUESTS = scaled(20_000, 200);
/** A second, light load: at 64 clients a cached answer's latency is mostly queueing (Little's law). */
const LIGHT_CONCURRENCY = 8;
const CEILING_REQUESTS = scaled(1_000, 20);
const STEPS = [scaled(1_000_000, 1_000), scaled(5_000_000, 5_000)];
/** 1000000 → "1M", 50000 → "0.05M". */
const millions = (lines: number) => `${Number((lines / 1_000_000).toFixed(3))}M`;

interface PopularBody {
  from: string;
  to: string;
  items: { productId: number; soldQuantity: number }[];
}

/**
 * The EXPLAIN (ANALYZE, BUFFERS) of the ranking query exactly as the Pg adapter sends it: its SQL and
 * parameters are read from Kysely's query log on a connection of their own, then explained through pg.
 */
async function explainTopSellers(context: ScenarioContext, firstDay: LocalDate, lastDay: LocalDate): Promise<string> {
  const sent: CompiledQuery[] = [];
  const db = createDb({
    url: context.databaseUrl,
    poolSize: 1,
    log: (event) => {
      if (event.level === 'query') sent.push(event.query);
    },
  });
  try {
    await new PgSalesStatistics(db).topSellers(firstDay, lastDay, POPULAR_PRODUCTS_LIMIT);
  } finally {
    await db.destroy();
  }
  const [query] = sent;
  if (sent.length !== 1 || !query) throw new Error(`expected the ranking to send one query, saw ${sent.length}`);
  const plan = await context.pg.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, [
    ...query.parameters,
  ]);
  return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** The ranking recomputed from the order lines themselves, the slow way, to check the rollup's answer. */
async function groundTruth(pool: pg.Pool, body: PopularBody): Promise<string> {
  const { rows } = await pool.query<{ product_id: string; sold: string }>(
    `SELECT l.product_id, sum(l.quantity) AS sold FROM order_lines l JOIN orders o ON o.id = l.order_id
     WHERE o.created_at >= $1 AND o.created_at < $2 GROUP BY l.product_id ORDER BY sold DESC, l.product_id LIMIT 5`,
    [body.from, body.to],
  );
  return rows.map((r) => `${r.product_id}:${r.sold}`).join(',');
}

/** The popular scenario: the ranking at 1 M order lines, then at 5 M, over 10,000 products and 30 days. */
export function popularScenario(timeZone = process.env.SHOP_TIMEZONE ?? 'Asia/Seoul'): Scenario & { explain?: string } {
  const scenario: Scenario & { explain?: string } = {
    name: 'popular',
    description: `GET /products/popular at ${STEPS.map(millions).join(' and ')} order lines over 10,000 products and 30 days`,
    async run(context: ScenarioContext) {
      // The ranking without the cache: the Pg adapter the cached use case reads through, called directly.
      const statistics = new PgSalesStatistics(context.ceiling.db);
      const rows: Row[] = [];
      let generated = 0;
      let firstP99: number | undefined;
      for (const lines of STEPS) {
        const started = performance.now();
        await generateOrderLines(context.pg, {
          lines: lines - generated,
          timeZone,
          onProgress: progressBar(`generating ${millions(lines)} lines`),
        });
        process.stderr.write(
          `\n  ${lines - generated} lines generated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
        generated = lines;

        const first = await context.http.request('GET', '/api/v1/products/popular');
        const body = first.body as unknown as PopularBody;
        const service = await runLoad(
          `popular @${millions(lines)} (service)`,
          REQUESTS,
          context.concurrency,
          async () => (await context.http.request('GET', '/api/v1/products/popular')).status,
          { cpu: context.serviceCpuUs },
        );
        const light = await runLoad(
          `popular @${millions(lines)} (service, ${LIGHT_CONCURRENCY} clients)`,
          REQUESTS,
          LIGHT_CONCURRENCY,
          async () => (await context.http.request('GET', '/api/v1/products/popular')).status,
          { cpu: context.serviceCpuUs },
        );
        // The window the service answered for: `to` is 00:00 of the day after the last.
        const firstDay = localDateOf(new Date(body.from), timeZone);
        const lastDay = localDateOf(new Date(new Date(body.to).getTime() - 1), timeZone);
        const ceiling = await runLoad(
          `popular @${millions(lines)} (ceiling: in-process, no cache)`,
          CEILING_REQUESTS,
          context.concurrency,
          async () => (await statistics.topSellers(firstDay, lastDay, POPULAR_PRODUCTS_LIMIT)).length,
        );
        scenario.explain = await explainTopSellers(context, firstDay, lastDay);

        const answered = body.items.map((item) => `${item.productId}:${item.soldQuantity}`).join(',');
        const matches = answered === (await groundTruth(context.pg, body));
        const stats = statsOf(service.samples, service.elapsedMs);
        const errors = service.samples.filter((s) => s.value !== 200).length;
        firstP99 ??= stats.p99;
        const drift =
          lines === STEPS[0]
            ? ''
            : `, p99 ${(((stats.p99 - firstP99) / firstP99) * 100).toFixed(0)} % vs ${millions(STEPS[0]!)}`;
        rows.push(
          row(
            `popular @${millions(lines)} lines`,
            stats,
            errors,
            statsOf(ceiling.samples, ceiling.elapsedMs),
            `top 5 ${matches ? 'equals' : 'DIFFERS FROM'} order lines${drift}`,
            matches && errors === 0,
            { cpuUs: service.cpuUsPerRequest },
          ),
          row(
            `popular @${millions(lines)}, ${LIGHT_CONCURRENCY} clients`,
            statsOf(light.samples, light.elapsedMs),
            light.samples.filter((s) => s.value !== 200).length,
            null,
            'latency without queueing',
            light.samples.every((s) => s.value === 200),
            { cpuUs: light.cpuUsPerRequest },
          ),
        );
      }
      return rows;
    },
  };
  return scenario;
}
