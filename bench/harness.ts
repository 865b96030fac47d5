/** The measuring tools every scenario shares: a closed-loop load runner, percentiles and the report. */

function scaleFromEnvironment(): number {
  const text = process.env.BENCH_SCALE ?? '1';
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`BENCH_SCALE=${text}: must be a number above 0`);
  return value;
}

/**
 * BENCH_SCALE (default 1, the full run): multiplies every scenario's request counts and data sizes, so
 * `BENCH_SCALE=0.05 npm run bench` is a smoke run of every scenario in a minute or two. Only a full run's
 * figures mean anything.
 */
export const BENCH_SCALE = scaleFromEnvironment();

/** `count` at BENCH_SCALE, never below `min`. */
export function scaled(count: number, min = 1): number {
  return Math.max(min, Math.round(count * BENCH_SCALE));
}

export interface Sample<T> {
  readonly ms: number;
  /** When the request completed, relative to the start of the run. */
  readonly doneAt: number;
  readonly value: T;
}

/** Microseconds of CPU per request, by who spent them; null where there is no probe. */
export interface CpuSplit {
  /** The service process (the run's `cpu` probe). */
  readonly service: number | null;
  /** The bench's own process: the load generator (HTTP or pg client) and its bookkeeping. */
  readonly client: number;
  /** The PostgreSQL server, every process of it (null on a server elsewhere). */
  readonly postgres: number | null;
}

interface CpuPoint {
  /** ms since the start of the run. */
  readonly at: number;
  /** µs since the start of the run, by probe. */
  readonly service: number | null;
  readonly client: number;
  readonly postgres: number | null;
}

export interface LoadRun<T> {
  readonly samples: Sample<T>[];
  readonly elapsedMs: number;
  /** The CPU time the `cpu` probe counted over the run, per request, in microseconds; null without a probe. */
  readonly cpuUsPerRequest: number | null;
  /** The probes' counts since the start, read every CPU_TRACE_MS and at the end. */
  readonly cpuTrace: readonly CpuPoint[];
}

const CPU_TRACE_MS = 100;

/** What every run reads besides its own `cpu` probe: the bench's process and the database server. */
const machine: { client: () => number; postgres: (() => number) | null } = { client: () => 0, postgres: null };

/** Set once by the runner: from then on every run traces the bench's and PostgreSQL's CPU time too. */
export function traceMachineCpu(client: () => number, postgres: (() => number) | null): void {
  machine.client = client;
  machine.postgres = postgres;
}

/**
 * Runs `total` tasks with `concurrency` in flight at all times (a closed loop, like a pool of clients),
 * timing each. The same runner drives the service over HTTP and the ceiling in-process, so the two are
 * measured alike.
 */
export async function runLoad<T>(
  label: string,
  total: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
  { cpu }: { cpu?: () => number } = {},
): Promise<LoadRun<T>> {
  const samples: Sample<T>[] = new Array<Sample<T>>(total);
  let next = 0;
  let done = 0;
  const read = () => ({ service: cpu?.() ?? null, client: machine.client(), postgres: machine.postgres?.() ?? null });
  const before = read();
  const started = performance.now();
  const cpuTrace: CpuPoint[] = [];
  const since = (now: number | null, then: number | null) => (now === null || then === null ? null : now - then);
  const traceCpu = () => {
    const now = read();
    cpuTrace.push({
      at: performance.now() - started,
      service: since(now.service, before.service),
      client: now.client - before.client,
      postgres: since(now.postgres, before.postgres),
    });
  };
  traceCpu();
  const tracing = setInterval(traceCpu, CPU_TRACE_MS);
  const progress = setInterval(() => showProgress(label, done, total), 250);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, total) }, async () => {
        while (next < total) {
          const index = next++;
          const t0 = performance.now();
          const value = await task(index);
          const t1 = performance.now();
          samples[index] = { ms: t1 - t0, doneAt: t1 - started, value };
          done++;
        }
      }),
    );
  } finally {
    clearInterval(tracing);
    clearInterval(progress);
    showProgress(label, done, total);
    process.stderr.write('\n');
  }
  const elapsedMs = performance.now() - started;
  traceCpu();
  const service = cpuTrace.at(-1)!.service;
  const cpuUsPerRequest = service === null ? null : service / total;
  return { samples, elapsedMs, cpuUsPerRequest, cpuTrace };
}

/**
 * The CPU per request over the first `untilMs` of a run (all of it by default; part of it for a row measured
 * so, as the storm's selling phase): each probe's count by then, interpolated between the trace's readings,
 * over the requests completed by then.
 */
export function cpuSplitUntil(run: LoadRun<unknown>, untilMs = Number.POSITIVE_INFINITY): CpuSplit | null {
  const trace = run.cpuTrace;
  const after = untilMs >= trace.at(-1)!.at ? trace.length - 1 : trace.findIndex((point) => point.at >= untilMs);
  if (after <= 0) return null;
  const [a, b] = [trace[after - 1]!, trace[after]!];
  const until = Math.min(untilMs, b.at);
  const completed = run.samples.filter((sample) => sample.doneAt <= until).length;
  if (completed === 0) return null;
  const at = (probe: (point: CpuPoint) => number | null): number | null => {
    const [from, to] = [probe(a), probe(b)];
    if (from === null || to === null) return null;
    return (from + ((to - from) * (until - a.at)) / Math.max(b.at - a.at, 1e-9)) / completed;
  };
  return { service: at((p) => p.service), client: at((p) => p.client)!, postgres: at((p) => p.postgres) };
}

function showProgress(label: string, done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r  ${label.padEnd(34)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
}

/** A progress callback that redraws one line on stderr. */
export function progressBar(label: string): (done: number, total: number) => void {
  return (done, total) => showProgress(label, done, total);
}

function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const rank = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[rank]!;
}

export interface Stats {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** Throughput over the window the samples span, and their latency percentiles. */
export function statsOf(samples: Sample<unknown>[], windowMs: number): Stats {
  const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  return {
    requests: samples.length,
    rps: (samples.length / windowMs) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

export interface Row {
  readonly scenario: string;
  readonly requests: number;
  readonly rps: number;
  /** The service process's CPU time (user and system) over the run, per request, in microseconds. */
  readonly cpuUs: number | null;
  /** The service run's CPU per request by process: the service, the bench's client and PostgreSQL. */
  readonly cpu: CpuSplit | null;
  /** The limit run's, likewise (no service in it). */
  readonly limitCpu: CpuSplit | null;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly ceilingRps: number | null;
  /** Service ÷ ceiling (the cost of HTTP); kept under this name for what already reads it. */
  readonly ratio: number | null;
  /** The same work in the fewest round trips, through pg at the same concurrency and pool size (see limits.ts). */
  readonly limitRps: number | null;
  readonly limitP50: number | null;
  readonly limitP99: number | null;
  /** Service ÷ limit: the headline ratio. */
  readonly limitRatio: number | null;
  /** Service ÷ the one-row reference of the same run (write rows only; filled in by `againstOneRow`). */
  readonly oneRowRatio: number | null;
  /** Issue 20's target for oneRowRatio, where it sets one. */
  readonly target: number | null;
  /** Issue 20's target for limitRatio, where it sets one. */
  readonly limitTarget: number | null;
  /** A write at the bench's concurrency: its tail is judged (p99 ≤ 3 × p50). */
  readonly write: boolean;
  /** p99 ÷ p50. */
  readonly tail: number;
  /** A write row whose p99 is more than TAIL_LIMIT × its p50. */
  readonly tailOver: boolean;
  readonly correctness: string;
  readonly ok: boolean;
  /** Rows that time a single step in-process (the token rows): microseconds per call, 1e6 / rps. */
  readonly perCallUs?: number;
}

/** Issue 12's tail target: p99 at most three times p50 on every write scenario. */
export const TAIL_LIMIT = 3;

export interface RowOptions {
  /** The limit run's figures (limits.ts). */
  readonly limit?: Stats | null;
  /** The target for service ÷ one-row; a row with one is compared with the one-row reference. */
  readonly target?: number;
  /** The target for service ÷ limit. */
  readonly limitTarget?: number;
  /** A write row (default false): its tail is flagged and it is compared with the one-row reference. */
  readonly write?: boolean;
  /** The service's CPU per request over the row's run (LoadRun.cpuUsPerRequest). */
  readonly cpuUs?: number | null;
  /** The service run's CPU per request by process (cpuSplitUntil); `cpuUs` is taken from it when given. */
  readonly cpu?: CpuSplit | null;
  /** The limit run's CPU per request by process. */
  readonly limitCpu?: CpuSplit | null;
}

export function row(
  scenario: string,
  service: Stats,
  errors: number,
  ceiling: Stats | null,
  correctness: string,
  ok: boolean,
  { limit = null, target, limitTarget, write = false, cpuUs = null, cpu = null, limitCpu = null }: RowOptions = {},
): Row {
  const tail = service.p99 / service.p50;
  return {
    scenario,
    requests: service.requests,
    rps: service.rps,
    cpuUs: cpu?.service ?? cpuUs,
    cpu,
    limitCpu,
    p50: service.p50,
    p99: service.p99,
    errors,
    ceilingRps: ceiling?.rps ?? null,
    ratio: ceiling ? service.rps / ceiling.rps : null,
    limitRps: limit?.rps ?? null,
    limitP50: limit?.p50 ?? null,
    limitP99: limit?.p99 ?? null,
    limitRatio: limit ? service.rps / limit.rps : null,
    oneRowRatio: null,
    target: target ?? null,
    limitTarget: limitTarget ?? null,
    write,
    tail,
    tailOver: write && tail > TAIL_LIMIT,
    correctness,
    ok,
  };
}

/** Each write row's rate divided by the one-row reference's rate, measured in the same run. */
export function againstOneRow(rows: Row[], oneRowRps: number): Row[] {
  return rows.map((r) => (r.write || r.target !== null ? { ...r, oneRowRatio: r.rps / oneRowRps } : r));
}

const fixed = (value: number | null, digits: number) =>
  value === null || Number.isNaN(value) ? '-' : value.toFixed(digits);
/** Latencies under a millisecond (a token's verification) keep a third decimal. */
const milliseconds = (value: number | null) => (value === null ? '-' : fixed(value, value < 1 ? 3 : 2));
const tailCell = (r: Row) => `${fixed(r.tail, 1)}${r.tailOver ? ' >3' : ''}`;
/** A ratio with its target beside it, when the row has one. */
const ratioCell = (ratio: number | null, target: number | null) =>
  ratio === null ? '-' : `${fixed(ratio, 2)}${target === null ? '' : ` (≥${target})`}`;

export function formatTable(rows: Row[]): string {
  const header = [
    'scenario',
    'requests',
    'req/s',
    'CPU µs/req',
    'p50 ms',
    'p99 ms',
    'p99/p50',
    'errors',
    'ceiling req/s',
    '÷ceiling',
    'limit req/s',
    'limit p50',
    'limit p99',
    '÷limit (target)',
    '÷one-row (target)',
    'correctness',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.requests),
    fixed(r.rps, 0),
    fixed(r.cpuUs, 0),
    milliseconds(r.p50),
    milliseconds(r.p99),
    tailCell(r),
    String(r.errors),
    fixed(r.ceilingRps, 0),
    fixed(r.ratio, 2),
    fixed(r.limitRps, 0),
    milliseconds(r.limitP50),
    milliseconds(r.limitP99),
    ratioCell(r.limitRatio, r.limitTarget),
    ratioCell(r.oneRowRatio, r.target),
    `${r.ok ? 'OK' : 'FAIL'} ${r.correctness}`,
  ]);
  return layout(header, cells, (column) => column === 0 || column === header.length - 1);
}

/** Columns padded to their widest cell: the `text` ones to the left, the figures to the right. */
function layout(header: string[], cells: string[][], text: (column: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) =>
    values.map((v, i) => (text(i) ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/**
 * Where each write scenario's CPU went, per request: the service, the bench's client and PostgreSQL for the
 * service run, the client and PostgreSQL for the limit run. On a machine whose cores all three share, a
 * rate is bounded by the cores over the sum, which is what ÷limit then compares.
 */
export function formatCpuTable(rows: Row[]): string {
  const split = rows.filter((r) => r.cpu !== null || r.limitCpu !== null);
  const header = [
    'scenario',
    'service',
    'client',
    'PostgreSQL',
    'sum',
    'limit: client',
    'PostgreSQL',
    'sum',
    'sum ÷ limit sum',
  ];
  const sum = (c: CpuSplit | null) =>
    c === null || c.postgres === null ? null : (c.service ?? 0) + c.client + c.postgres;
  const cells = split.map((r) => {
    const [service, limit] = [sum(r.cpu), sum(r.limitCpu)];
    return [
      r.scenario,
      fixed(r.cpu?.service ?? null, 0),
      fixed(r.cpu?.client ?? null, 0),
      fixed(r.cpu?.postgres ?? null, 0),
      fixed(service, 0),
      fixed(r.limitCpu?.client ?? null, 0),
      fixed(r.limitCpu?.postgres ?? null, 0),
      fixed(limit, 0),
      service === null || limit === null ? '-' : fixed(service / limit, 2),
    ];
  });
  return layout(header, cells, (column) => column === 0);
}
