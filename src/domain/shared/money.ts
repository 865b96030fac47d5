import { InvalidInputError } from './domain-error.js';

/** Money is a whole number of KRW. */
export function assertWholeAmount(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(field, `must be an integer from ${min} to ${max}`);
  }
}
