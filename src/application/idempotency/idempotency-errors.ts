import { DomainError } from '../../domain/shared/domain-error.js';

export class IdempotencyKeyInUseError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_IN_USE';

  constructor(key: string) {
    super('A request with this Idempotency-Key is still being processed; retry once it has finished.', {
      idempotencyKey: key,
    });
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';

  constructor(key: string) {
    super('This Idempotency-Key was used for a different request (another route or another body).', {
      idempotencyKey: key,
    });
  }
}
