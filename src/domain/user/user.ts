import { InvalidInputError } from '../shared/domain-error.js';

export const USER_NAME_MAX_LENGTH = 100;

export interface User {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Date;
}

export function validUserName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > USER_NAME_MAX_LENGTH) {
    throw new InvalidInputError('name', `must be 1 to ${USER_NAME_MAX_LENGTH} characters`);
  }
  return trimmed;
}
