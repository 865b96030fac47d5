import { validName } from '../shared/text.js';

export const USER_NAME_MAX_LENGTH = 100;

export interface User {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Date;
}

export function validUserName(name: string): string {
  return validName('name', name, USER_NAME_MAX_LENGTH);
}
