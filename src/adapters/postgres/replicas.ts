import { sql } from 'kysely';
import { type DatabaseOptions, type Db, createDb } from './database.js';

/** A replica as GET /metrics shows it: `name` is host:port, never a credential. */
export interface ReplicaStatus {
  readonly name: string;
  readonly up: boolean;
  /** How far behind the primary it may be, in seconds; undefined while that is not known. */
  readonly lagSeconds: number | undefined;
}

/** The catalog reads answered so far, by where: each replica's host:port, and 'primary'. */
export type ReadsBySource = ReadonlyMap<string, number>;

/**
 * A replica's name for logs and metrics: the host:port of its URL (5432 when it names none), or its place in
 * DATABASE_REPLICA_URLS when the URL names no host (a Unix socket). Never the URL itself: it holds a password.
 */
function replicaName(url: string, index: number): string {
  try {
    const { hostname, port } = new URL(url);
    if (hostname) return `${hostname}:${port || '5432'}`;
  } catch {
    // A URL node's parser refuses (pg accepts more); its error would quote it whole.
  }
  return `replica ${index + 1}`;
}

/** One streaming replica of the primary, and what its last check found. */
export class Replica {
  up = false;
  /** Every transaction the primary had committed by this instant (this process's clock) is visible here. */
  freshAsOf: number | undefined;

  constructor(
    readonly name: string,
    readonly db: Db,
  ) {}

  lagMs(now: number): number | undefined {
    return this.up && this.freshAsOf !== undefined ? Math.max(0, now - this.freshAsOf) : undefined;
  }
}

export interface ReplicaSetOptions {
  /** A replica further behind than this is passed over (DATABASE_REPLICA_MAX_LAG_MS). */
  readonly maxLagMs: number;
  /** How often the primary's and each replica's WAL positions are read. */
  readonly checkIntervalMs?: number;
  readonly now?: () => number;
  /** Told when a replica comes up or goes down, and why. */
  readonly onChange?: (replica: Replica, why?: unknown) => void;
}

/** What the primary had written at an instant: its WAL position then. */
interface Sample {
  readonly at: number;
  readonly lsn: number;
}

const replayed = (db: Db) =>
  sql<{ lsn: number | null; standby: boolean }>`
    SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::float8 AS lsn, pg_is_in_recovery() AS standby`.execute(db);

/** The sizes of a WAL page's header: the first page of a segment has the long one. */
const SHORT_PAGE_HEADER = 24;
const LONG_PAGE_HEADER = 40;

/**
 * Where the primary's last WAL record ends. The insert position, not the write position: a transaction
 * committed asynchronously is acknowledged before its WAL is written. At a page's start the insert position
 * points past the page's header, where no record ends, while a replica's replay position, a record's end,
 * stops at the page boundary: so that boundary is the position to compare with.
 */
async function lastRecordEnd(db: Db): Promise<number> {
  const { rows } = await sql<{ insert: number; block: number; segment: number }>`
    SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::float8 AS insert,
           current_setting('wal_block_size')::float8 AS block,
           (SELECT setting::float8 FROM pg_settings WHERE name = 'wal_segment_size') AS segment`.execute(db);
  const { insert, block, segment } = rows[0]!;
  if (insert % segment === LONG_PAGE_HEADER) return insert - LONG_PAGE_HEADER;
  if (insert % block === SHORT_PAGE_HEADER) return insert - SHORT_PAGE_HEADER;
  return insert;
}

/**
 * The replicas and how far behind each is, judged by WAL positions, never by the time of the last replayed
 * transaction (on an idle primary a replica replays nothing for a long while and is not behind). Each check
 * reads the primary's WAL position, noting when it asked, then each replica's replayed position: a replica
 * that has replayed up to where the primary was at instant T holds every transaction committed before T.
 * Nothing is written for it, and this process's clock alone measures the lag.
 */
export class ReplicaSet {
  private samples: Sample[] = [];
  private readonly reads = new Map<string, number>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  readonly maxLagMs: number;
  /**
   * How long a replica may take to answer a check or a read before it is passed over: a pooler in front of a
   * replica that is gone queues queries rather than failing them.
   */
  readonly deadlineMs: number;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;
  private readonly onChange: (replica: Replica, why?: unknown) => void;

  constructor(
    private readonly primary: Db,
    readonly replicas: readonly Replica[],
    {
      maxLagMs,
      checkIntervalMs = Math.max(50, Math.min(250, maxLagMs / 4)),
      now = Date.now,
      onChange,
    }: ReplicaSetOptions,
  ) {
    this.maxLagMs = maxLagMs;
    this.deadlineMs = Math.max(1_000, 2 * maxLagMs);
    this.checkIntervalMs = checkIntervalMs;
    this.now = now;
    this.onChange = onChange ?? (() => undefined);
  }

  /** A replica fresh enough to answer now, in turn; undefined when none is, and the primary answers. */
  pick(): Replica | undefined {
    const now = this.now();
    const fresh = this.replicas.filter((replica) => (replica.lagMs(now) ?? Infinity) <= this.maxLagMs);
    if (fresh.length === 0) return undefined;
    return fresh[this.next++ % fresh.length];
  }

  /** A replica that failed a query: passed over until a check finds it answering again. */
  markDown(replica: Replica, why: unknown): void {
    if (!replica.up) return;
    replica.up = false;
    this.onChange(replica, why);
  }

  /** Counts a catalog read answered by `source` (a replica's name, or 'primary'). */
  recordRead(source: string): void {
    this.reads.set(source, (this.reads.get(source) ?? 0) + 1);
  }

  readsBySource(): ReadsBySource {
    return this.reads;
  }

  statuses(): ReplicaStatus[] {
    const now = this.now();
    return this.replicas.map((replica) => {
      const lag = replica.lagMs(now);
      return { name: replica.name, up: replica.up, lagSeconds: lag === undefined ? undefined : lag / 1000 };
    });
  }

  /** One round: the primary's position, then every replica's against it. */
  async check(): Promise<void> {
    const at = this.now();
    let lsn: number;
    try {
      lsn = await withDeadline(lastRecordEnd(this.primary), this.deadlineMs);
    } catch {
      // With no primary to compare with, nothing is judged: the replicas keep what they had.
      return;
    }
    this.samples.push({ at, lsn });
    // Kept long enough to date a replica far behind; older ones can no longer make one usable.
    const horizon = at - Math.max(60_000, 10 * this.maxLagMs);
    while (this.samples.length > 1 && this.samples[0]!.at < horizon) this.samples.shift();
    await Promise.all(this.replicas.map((replica) => this.checkReplica(replica)));
  }

  private async checkReplica(replica: Replica): Promise<void> {
    const wasUp = replica.up;
    let why: unknown;
    try {
      const { lsn, standby } = (await withDeadline(replayed(replica.db), this.deadlineMs)).rows[0]!;
      if (!standby || lsn === null) throw new Error('it is not a standby in recovery');
      // The latest instant whose primary position it has replayed; none yet: it is older than every sample.
      replica.freshAsOf = this.samples.findLast((sample) => sample.lsn <= lsn)?.at;
      replica.up = true;
    } catch (error) {
      replica.up = false;
      why = error;
    }
    if (replica.up !== wasUp) this.onChange(replica, why);
  }

  /** Checks every checkIntervalMs until stopped, the first at once. */
  start(): void {
    const loop = async () => {
      this.running = this.check();
      await this.running;
      if (this.stopped) return;
      this.timer = setTimeout(() => void loop(), this.checkIntervalMs);
      this.timer.unref();
    };
    void loop();
  }

  /** Within a deadline each: a replica that does not answer must not hold up the service's shutdown. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const settled = (work: Promise<unknown>) => withDeadline(work, this.deadlineMs).catch(() => undefined);
    await settled(this.running ?? Promise.resolve());
    await Promise.all(this.replicas.map((replica) => settled(replica.db.destroy())));
  }
}

/** A replica that did not answer within ReplicaSet.deadlineMs. */
export class DeadlinePassed extends Error {}

/** `work`, or DeadlinePassed after `ms`; work past its deadline goes on, its outcome ignored. */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlinePassed(`no answer within ${ms} ms`)), ms);
  });
  // Failing after its deadline, nobody waits for it any more.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * A pool on each of `urls` (with `pool`'s size and bounds, and a short connect timeout, so an unreachable
 * replica is passed over quickly), checked from now on.
 */
export function startReplicaSet(
  primary: Db,
  urls: readonly string[],
  pool: Omit<DatabaseOptions, 'url'>,
  options: ReplicaSetOptions,
): ReplicaSet {
  const connectionTimeoutMs = Math.min(1_000, pool.connectionTimeoutMs ?? 1_000);
  const replicas = urls.map(
    (url, i) => new Replica(replicaName(url, i), createDb({ ...pool, url, connectionTimeoutMs })),
  );
  const set = new ReplicaSet(primary, replicas, options);
  set.start();
  return set;
}
