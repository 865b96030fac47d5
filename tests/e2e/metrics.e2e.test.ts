import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parser } from '@prometheus-io/lezer-promql';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DeliverDueEvents } from '../../src/application/data-platform/deliver-due-events.js';
import { buildApp } from '../../src/adapters/http/app.js';
import { createDb } from '../../src/adapters/postgres/database.js';
import { isDatabaseUnavailable } from '../../src/adapters/postgres/pg-errors.js';
import { accessTokens, appDependencies, createContainer, ensureAdmin } from '../../src/container.js';
import { LOGIN_FAILURE_LIMIT } from '../../src/domain/account/refresh-token.js';
import { type Api, aChargedUser, aCoupon, aProduct, anIssuedCoupon, anOrder } from '../support/builders.js';
import { bearer, expectProblem } from '../support/test-app.js';
import { useTestDatabase } from '../support/test-database.js';

const database = useTestDatabase();
const ADMIN = { email: 'metrics-admin@tests.invalid', password: 'metrics-admin-password' };

/** The app with a data platform (the logging client) that refuses the orders in `refused`. */
let app: FastifyInstance;
let deliverDueEvents: DeliverDueEvents;
const refused = new Set<number>();

beforeAll(async () => {
  const container = createContainer({
    repositories: { kind: 'POSTGRES', db: database.db },
    dataPlatform: {
      // Two attempts 1 ms apart: the first failure schedules a retry, the second parks the event.
      maxAttempts: 2,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      log: (_message, { orderId }) => {
        if (refused.has(orderId as number)) throw new Error('POST http://platform.test/orders answered 503');
      },
    },
  });
  app = await buildApp(appDependencies(container), { isUnavailable: isDatabaseUnavailable });
  deliverDueEvents = container.resolve(DeliverDueEvents);
  const admin = (await ensureAdmin(container, ADMIN.email, ADMIN.password))!;
  const adminApi: Api = {
    app,
    token: await accessTokens(container).issue({ userId: admin.id, role: 'ADMIN', tokenVersion: 0 }),
  };
  await shortLoad(adminApi, (userId) => accessTokens(container).issue({ userId, role: 'CUSTOMER', tokenVersion: 0 }));
});
afterAll(async () => {
  await app?.close();
});

const login = (email: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });

/**
 * A little of everything: three paid orders (one of them replayed by its Idempotency-Key), one refused for the
 * balance; a coupon issued and refused; a login, ten failed ones and a locked-out one; then two relay rounds
 * (one delivered, one retried then parked, one left PENDING and written ten minutes ago).
 */
async function shortLoad(adminApi: Api, tokenFor: (userId: number) => Promise<string>): Promise<void> {
  const { id: userId } = await aChargedUser(adminApi, 5_000);
  const customer: Api = { app, token: await tokenFor(userId) };
  const lamp = await aProduct(adminApi, { name: 'Lamp', price: 1_000, stock: 100 });
  const oneLamp = { userId, items: [{ productId: lamp.id, quantity: 1 }] };

  const keyed = { method: 'POST' as const, url: '/api/v1/orders', payload: oneLamp };
  const headers = { ...bearer(customer.token), 'idempotency-key': 'metrics-order-1' };
  expect((await app.inject({ ...keyed, headers })).statusCode).toBe(201);
  const replay = await app.inject({ ...keyed, headers });
  expect(replay.headers['idempotent-replayed']).toBe('true');
  const parked = await anOrder(customer, oneLamp);
  refused.add(parked.orderId);
  expectProblem(
    await app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: bearer(customer.token),
      payload: { userId, items: [{ productId: lamp.id, quantity: 4 }] },
    }),
    409,
    'INSUFFICIENT_BALANCE',
  );

  const coupon = await aCoupon(adminApi);
  await anIssuedCoupon(customer, coupon.id, userId);
  expectProblem(
    await app.inject({
      method: 'POST',
      url: `/api/v1/coupons/${coupon.id}/issue`,
      headers: bearer(customer.token),
      payload: { userId },
    }),
    409,
    'COUPON_ALREADY_ISSUED',
  );

  expect((await login(ADMIN.email, ADMIN.password)).statusCode).toBe(200);
  for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++)
    expectProblem(await login('someone@tests.invalid', 'not the password'), 401, 'INVALID_CREDENTIALS');
  expectProblem(await login('someone@tests.invalid', 'not the password'), 429, 'TOO_MANY_REQUESTS');

  await deliverDueEvents.execute(); // the first order delivered, the second failed once
  await sleep(20); // past its 1 ms backoff
  await deliverDueEvents.execute(); // the second failed again: parked
  const pending = await anOrder(customer, oneLamp);
  await sql`UPDATE data_platform_outbox SET created_at = now() - interval '10 minutes' WHERE order_id = ${pending.orderId}`.execute(
    database.db,
  );
}

const scrape = async (target: FastifyInstance = app) => {
  const response = await target.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response.body;
};

/** Each sample of the exposition, by its series (name and labels as written), e.g. `a_total{code="X"}` → 3. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const split = line.lastIndexOf(' ');
    samples.set(line.slice(0, split), Number(line.slice(split + 1)));
  }
  return samples;
}

describe('GET /metrics after a short load', () => {
  it('counts orders placed and refused by code, a replayed Idempotency-Key once', async () => {
    const samples = samplesOf(await scrape());
    expect(samples.get('shop_orders_placed_total')).toBe(3);
    expect(samples.get('shop_orders_refused_total{code="INSUFFICIENT_BALANCE"}')).toBe(1);
  });

  it('counts coupons issued and refused by code', async () => {
    const samples = samplesOf(await scrape());
    expect(samples.get('shop_coupons_issued_total')).toBe(1);
    expect(samples.get('shop_coupons_refused_total{code="COUPON_ALREADY_ISSUED"}')).toBe(1);
  });

  it('counts logins, failed ones (INVALID_CREDENTIALS) and locked-out ones (TOO_MANY_REQUESTS)', async () => {
    const samples = samplesOf(await scrape());
    expect(samples.get('shop_logins_succeeded_total')).toBe(1);
    expect(samples.get('shop_logins_refused_total{code="INVALID_CREDENTIALS"}')).toBe(LOGIN_FAILURE_LIMIT);
    expect(samples.get('shop_logins_refused_total{code="TOO_MANY_REQUESTS"}')).toBe(1);
  });

  it('counts delivery attempts by outcome, and reads the outbox backlog and its oldest event by status', async () => {
    const samples = samplesOf(await scrape());
    expect({
      delivered: samples.get('shop_outbox_delivery_attempts_total{outcome="DELIVERED"}'),
      retried: samples.get('shop_outbox_delivery_attempts_total{outcome="RETRY_SCHEDULED"}'),
      parked: samples.get('shop_outbox_delivery_attempts_total{outcome="PARKED"}'),
      pending: samples.get('shop_outbox_backlog_events{status="PENDING"}'),
      failed: samples.get('shop_outbox_backlog_events{status="FAILED"}'),
      up: samples.get('shop_outbox_statistics_up'),
    }).toEqual({ delivered: 1, retried: 1, parked: 1, pending: 1, failed: 1, up: 1 });
    const pendingAge = samples.get('shop_outbox_oldest_event_age_seconds{status="PENDING"}')!;
    expect(pendingAge).toBeGreaterThanOrEqual(600);
    expect(pendingAge).toBeLessThan(660);
    expect(samples.get('shop_outbox_oldest_event_age_seconds{status="FAILED"}')).toBeGreaterThan(0);
  });

  it("shows the database pool's connections: open, idle, waiting and its maximum", async () => {
    const samples = samplesOf(await scrape());
    expect(samples.get('shop_db_pool_connections')).toBeGreaterThanOrEqual(1);
    expect(samples.get('shop_db_pool_idle_connections')).toBeLessThanOrEqual(samples.get('shop_db_pool_connections')!);
    expect(samples.get('shop_db_pool_waiting_clients')).toBe(0);
    expect(samples.get('shop_db_pool_max_connections')).toBe(20);
  });

  it('labels requests by route pattern, never by an id, and no series by an email', async () => {
    const samples = samplesOf(await scrape());
    expect(
      samples.get(
        'http_request_duration_seconds_count{method="POST",route="/api/v1/coupons/:couponId/issue",status_code="409"}',
      ),
    ).toBe(1);
    const values = [...samples.keys()].flatMap((series) => [...series.matchAll(/(\w+)="([^"]*)"/g)]);
    expect(values.filter(([, , value]) => value!.includes('@'))).toEqual([]);
    expect(values.filter(([, label, value]) => label === 'route' && /\/\d+(\/|$)/.test(value!))).toEqual([]);
  });
});

describe('GET /metrics without a database', () => {
  it('still answers 200, with shop_outbox_statistics_up 0 and no outbox figures rather than stale ones', async () => {
    // Nothing listens on port 1: every connection is refused at once.
    const db = createDb({ url: 'postgres://nobody:nothing@127.0.0.1:1/none', connectionTimeoutMs: 500 });
    const errors: unknown[] = [];
    const down = await buildApp(
      appDependencies(
        createContainer({ repositories: { kind: 'POSTGRES', db }, onMetricsError: (error) => errors.push(error) }),
      ),
    );
    try {
      const samples = samplesOf(await scrape(down));
      expect(samples.get('shop_outbox_statistics_up')).toBe(0);
      expect([...samples.keys()].filter((series) => series.startsWith('shop_outbox_backlog_events'))).toEqual([]);
      expect(samples.get('shop_db_pool_max_connections')).toBe(20);
      expect(errors).toHaveLength(1);
    } finally {
      await down.close();
      await db.destroy();
    }
  });
});

// ---------- the dashboard and the alerts name only what /metrics serves ----------

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}

interface DashboardPanel {
  title: string;
  type: string;
  datasource?: { uid?: string };
  targets?: { expr: string }[];
}

const alertRules = () =>
  (
    parseYaml(readFileSync('ops/prometheus/alerts.yml', 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }
  ).groups.flatMap((group) => group.rules);

const dashboard = () =>
  JSON.parse(readFileSync('ops/grafana/shop-backend.json', 'utf8')) as {
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: DashboardPanel[];
  };

/** Labels Prometheus adds to every series it scrapes, and the dashboard's own variables. */
const TARGET_LABELS = new Set(['job', 'instance']);

/** Every metric a PromQL expression selects, with the label names it matches on; throws on a syntax error. */
function selectorsOf(expr: string): { metric: string; labels: string[] }[] {
  // Grafana's variables are not PromQL: stand-ins of the same shape.
  const promql = expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*');
  const tree = parser.parse(promql);
  const selectors: { metric: string; labels: string[] }[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`${expr}: PromQL syntax error at ${cursor.from}`);
    if (cursor.name !== 'VectorSelector') continue;
    const node = cursor.node;
    const name = node.getChild('Identifier');
    const matchers = node.getChild('LabelMatchers');
    const labels = (matchers?.getChildren('UnquotedLabelMatcher') ?? []).map((matcher) => {
      const label = matcher.getChild('LabelName')!;
      return promql.slice(label.from, label.to);
    });
    if (name) selectors.push({ metric: promql.slice(name.from, name.to), labels });
  } while (cursor.next());
  return selectors;
}

/** Each metric name /metrics serves (histograms by their _bucket, _sum and _count), with the label names it carries. */
function servedSeries(text: string): Map<string, Set<string>> {
  const served = new Map<string, Set<string>>();
  const labelsOf = (name: string) => served.get(name) ?? served.set(name, new Set()).get(name)!;
  for (const line of text.split('\n')) {
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed) {
      const [, name, type] = typed;
      if (type === 'histogram' || type === 'summary')
        for (const suffix of ['_bucket', '_sum', '_count']) labelsOf(`${name}${suffix}`);
      else labelsOf(name!);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const labels = labelsOf(sample[1]!);
    for (const match of (sample[2] ?? '').matchAll(/(\w+)="/g)) labels.add(match[1]!);
  }
  return served;
}

describe('the Grafana dashboard and the Prometheus alerting rules', () => {
  it('are a rules file Prometheus can load: each rule named, with a severity, a summary and an expression', () => {
    const rules = alertRules();
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'ShopOutboxBacklogGrowing',
        'ShopOutboxOldestPendingTooOld',
        'ShopDeliveriesParked',
        'ShopHigh5xxRate',
      ]),
    );
    for (const rule of rules) {
      expect(rule, rule.alert).toMatchObject({
        alert: expect.stringMatching(/^[A-Z]\w+$/),
        expr: expect.any(String),
        for: expect.stringMatching(/^\d+[smh]$/),
        labels: { severity: expect.stringMatching(/^(warning|critical)$/) },
        annotations: { summary: expect.any(String) },
      });
    }
  });

  it('take the Prometheus datasource as a variable, in every panel', () => {
    const { templating, panels } = dashboard();
    expect(templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const panel of panels.filter((candidate) => candidate.type !== 'row'))
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
  });

  it('name only metrics and labels that /metrics serves, in expressions that parse', async () => {
    const served = servedSeries(await scrape());
    const expressions = [
      ...alertRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
      ...dashboard().panels.flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr })),
      ),
    ];
    expect(expressions.length).toBeGreaterThan(15);

    const unknown: string[] = [];
    for (const { where, expr } of expressions) {
      const selectors = selectorsOf(expr);
      expect(selectors.length, `${where} selects nothing`).toBeGreaterThan(0);
      for (const { metric, labels } of selectors) {
        const carried = served.get(metric);
        if (!carried) unknown.push(`${where}: metric ${metric}`);
        for (const label of labels)
          if (carried && !carried.has(label) && !TARGET_LABELS.has(label))
            unknown.push(`${where}: label ${label} of ${metric}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
