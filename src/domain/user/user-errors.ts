import { DomainError } from '../shared/domain-error.js';

export class UserNotFoundError extends DomainError {
  readonly code = 'USER_NOT_FOUND';

  constructor(userId: number) {
    super(`User ${userId} does not exist.`, { userId });
  }
}
