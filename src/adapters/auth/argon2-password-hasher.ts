import { availableParallelism } from 'node:os';
import { type Options, hash, verify } from '@node-rs/argon2';
import { type PasswordHasher, PasswordHasherBusyError } from '../../application/ports/access-tokens.js';

/**
 * Argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1). Each hash runs on libuv's thread pool, so a
 * login costs the event loop nothing; it costs a core about the time the bench's login row shows.
 */
const ARGON2ID_OWASP: Options = {
  algorithm: 2, // Algorithm.Argon2id: a const enum, which isolated modules cannot import
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** libuv's thread pool, which the hashes share with fs, dns.lookup, zlib and crypto's async calls. */
const THREAD_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/** One hash per core, and never the whole pool: a thread is always left for the rest of libuv's work. */
const DEFAULT_CONCURRENCY = Math.max(1, Math.min(availableParallelism(), THREAD_POOL_SIZE - 1));

/**
 * Enough that the bench's 64 clients never meet a refusal, few enough that a waiting login is answered
 * within a second or so (64 hashes over two cores at about 20 ms each) rather than after its client gave up.
 */
const DEFAULT_MAX_QUEUED = 64;

export interface HashingLimits {
  /** Hashes and verifies running at once. Default: the cores, at most libuv's pool less one thread. */
  readonly concurrency?: number;
  /** Calls waiting for a turn; the next one is refused with PasswordHasherBusyError. Default 64. */
  readonly maxQueued?: number;
}

/** A counting semaphore with a bounded queue that refuses, rather than queues, past its bound. */
class BoundedGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running += 1;
    else if (this.waiting.length < this.maxQueued) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else throw new PasswordHasherBusyError();
    try {
      return await work();
    } finally {
      // The place passes straight to the first in line, so a newcomer can never overtake the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

function checked(name: string, value: number, least: number): number {
  if (!Number.isInteger(value) || value < least)
    throw new RangeError(`${name} must be an integer ≥ ${least}: ${value}`);
  return value;
}

/**
 * Bounded: every unauthenticated login and sign-up costs a hash, so without a bound a flood of them would
 * queue unbounded work (and 19 MiB per hash in flight) in front of libuv's pool. At most `concurrency` run at
 * once (memory bounded to that many times m) and `maxQueued` wait; past that the call is refused at once,
 * which the HTTP edge answers 503 with Retry-After. The bound is this instance's: the container makes one.
 */
export class Argon2PasswordHasher implements PasswordHasher {
  private readonly gate: BoundedGate;

  constructor(
    private readonly options: Options = ARGON2ID_OWASP,
    { concurrency = DEFAULT_CONCURRENCY, maxQueued = DEFAULT_MAX_QUEUED }: HashingLimits = {},
  ) {
    this.gate = new BoundedGate(checked('concurrency', concurrency, 1), checked('maxQueued', maxQueued, 0));
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(password, this.options));
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    // A refusal rejects; only what Argon2id itself says about the hash becomes false.
    return this.gate.run(async () => {
      try {
        // The parameters come from the hash itself, so hashes made before a change of cost still verify.
        return await verify(passwordHash, password);
      } catch {
        return false;
      }
    });
  }
}
