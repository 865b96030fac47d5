/** A response kept for retries: what the edge answered, opaque to the application. */
export interface RecordedResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface IdempotencyRecord {
  readonly userId: number;
  readonly key: string;
  /** The request the key was first used for: method and path, and a hash of the parsed body. */
  readonly route: string;
  readonly requestHash: string;
  readonly response: RecordedResponse;
  readonly createdAt: Date;
}

/** Inside a unit of work, so a key and the effect it guards commit together. */
export interface IdempotencyKeyRepository {
  /** Claims the key for this unit of work; false while another unit of work holds it. */
  tryClaim(userId: number, key: string): Promise<boolean>;
  /** The record made at or after `notBefore`; older ones have expired. */
  find(userId: number, key: string, notBefore: Date): Promise<IdempotencyRecord | undefined>;
  /** Stores the record, replacing an expired one under the same key. */
  save(record: IdempotencyRecord): Promise<void>;
}

/** Housekeeping outside any request. */
export interface IdempotencyKeyPurge {
  /** Deletes records made before `before`; returns how many. */
  purge(before: Date): Promise<number>;
}
