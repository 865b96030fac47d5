import { DomainError } from '../shared/domain-error.js';

export class BalanceLimitExceededError extends DomainError {
  readonly code = 'BALANCE_LIMIT_EXCEEDED';

  constructor(facts: { userId: number; balance: number; amount: number; limit: number }) {
    super(`Adding ${facts.amount} would take the balance past its limit of ${facts.limit}.`, facts);
  }
}

export class InsufficientBalanceError extends DomainError {
  readonly code = 'INSUFFICIENT_BALANCE';

  constructor(facts: { userId: number; required: number; available: number }) {
    super(`The payment needs ${facts.required} but the balance is ${facts.available}.`, facts);
  }
}
