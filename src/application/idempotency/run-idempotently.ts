import type { Clock } from '../ports/clock.js';
import type { RecordedResponse } from '../ports/idempotency-keys.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError } from './idempotency-errors.js';

/** Responses are kept for at least this long. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** A key is 1 to this many printable ASCII characters (the IETF draft leaves the length to the server). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

export interface IdempotentRequest {
  /** The user the request acts for: keys are scoped to them. */
  readonly userId: number;
  readonly key: string;
  readonly route: string;
  readonly requestHash: string;
}

export interface IdempotentOutcome {
  readonly response: RecordedResponse;
  readonly replayed: boolean;
}

/**
 * The Idempotency-Key semantics (IETF draft, Stripe) for any write, in one place. The request runs in a
 * unit of work that also claims the key and stores the response, so the effect and its key commit
 * together or not at all: a crash can't leave one without the other. `perform` runs in a nested unit of
 * work (a savepoint) that the use case's own joins. A business error is kept too (`keep` turns it into
 * the response to keep) and its writes, if any, are undone with the savepoint. Anything `keep` declines
 * (a 400, a bug) is rethrown and nothing is kept, so a retry runs afresh.
 */
export class RunIdempotently {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute(
    request: IdempotentRequest,
    perform: () => Promise<RecordedResponse>,
    keep: (error: unknown) => RecordedResponse | undefined,
  ): Promise<IdempotentOutcome> {
    const now = this.clock.now();
    return this.uow.run(async (repos) => {
      const { userId, key, route, requestHash } = request;
      if (!(await repos.idempotencyKeys.tryClaim(userId, key))) throw new IdempotencyKeyInUseError(key);

      const stored = await repos.idempotencyKeys.find(userId, key, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS));
      if (stored) {
        if (stored.route !== route || stored.requestHash !== requestHash) throw new IdempotencyKeyReusedError(key);
        return { response: stored.response, replayed: true };
      }

      let response: RecordedResponse;
      try {
        // Nested, so a failure undoes whatever `perform` wrote, however many units of work it ran.
        response = await this.uow.run(() => perform());
      } catch (error) {
        const kept = keep(error);
        if (!kept) throw error;
        response = kept;
      }
      await repos.idempotencyKeys.save({ userId, key, route, requestHash, response, createdAt: now });
      return { response, replayed: false };
    });
  }
}
