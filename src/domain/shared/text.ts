import { InvalidInputError } from './domain-error.js';

/** Characters as people count them (code points), which is also what PostgreSQL's char_length counts. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Trims `value` and checks it has 1 to `max` characters. */
export function validName(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  const length = characterCount(trimmed);
  if (length < 1 || length > max) throw new InvalidInputError(field, `must be 1 to ${max} characters`);
  return trimmed;
}
