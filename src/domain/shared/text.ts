import { InvalidInputError } from './domain-error.js';

/** Characters as people count them (code points), which is also what PostgreSQL's char_length counts. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** C0 controls and DEL: no name needs them, and PostgreSQL refuses NUL in text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001F\u007F]/;

/** Trims `value` and checks it has 1 to `max` characters, none of them control characters. */
export function validName(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  const length = characterCount(trimmed);
  if (length < 1 || length > max) throw new InvalidInputError(field, `must be 1 to ${max} characters`);
  if (CONTROL_CHARACTERS.test(trimmed)) throw new InvalidInputError(field, 'must not contain control characters');
  return trimmed;
}
