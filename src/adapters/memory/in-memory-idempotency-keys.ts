import type { IdempotencyKeyRepository, IdempotencyRecord } from '../../application/ports/idempotency-keys.js';
import type { InMemoryStore } from './in-memory-store.js';

/** Units of work run one at a time in memory, so a key is never held by another one: a claim always succeeds. */
export class InMemoryIdempotencyKeys implements IdempotencyKeyRepository {
  constructor(private readonly store: InMemoryStore) {}

  async tryClaim(): Promise<boolean> {
    return true;
  }

  async find(userId: number, key: string, notBefore: Date): Promise<IdempotencyRecord | undefined> {
    const record = this.store.state.idempotencyKeys.get(`${userId}:${key}`);
    return record && record.createdAt >= notBefore ? record : undefined;
  }

  async save(record: IdempotencyRecord): Promise<void> {
    this.store.state.idempotencyKeys.set(`${record.userId}:${record.key}`, record);
  }
}
