import { InvalidInputError } from '../shared/domain-error.js';
import { CONTROL_CHARACTERS, characterCount } from '../shared/text.js';

export const EMAIL_MAX_LENGTH = 254;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// One @, something on each side, no spaces: the address is proven by mail, not by a regular expression.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** Trimmed, as typed (case kept for display). Compared case-insensitively wherever it is looked up. */
export function validEmail(email: string): string {
  const trimmed = email.trim();
  if (characterCount(trimmed) > EMAIL_MAX_LENGTH || !EMAIL_SHAPE.test(trimmed) || CONTROL_CHARACTERS.test(trimmed))
    throw new InvalidInputError('email', `must be an email address of at most ${EMAIL_MAX_LENGTH} characters`);
  return trimmed;
}

export function isEmailAddress(text: string): boolean {
  try {
    validEmail(text);
    return true;
  } catch {
    return false;
  }
}

/** The form two spellings of one address share: what uniqueness, lookup and the login throttle key on. */
export function foldedEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Any characters, counted as people count them; never trimmed (a space may be part of a passphrase). */
export function validPassword(password: string): string {
  const length = characterCount(password);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH)
    throw new InvalidInputError('password', `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
  return password;
}
