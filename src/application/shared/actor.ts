import { DomainError } from '../../domain/shared/domain-error.js';

/**
 * Who a request acts for. Use cases receive it explicitly and never trust a path parameter alone. The HTTP
 * edge builds CUSTOMER and ADMIN actors from a verified access token; SYSTEM is for the processes that run
 * the shop themselves (seeding, command-line tools) and can never come from a request.
 */
export type Actor =
  | { readonly role: 'CUSTOMER'; readonly userId: number }
  | { readonly role: 'ADMIN'; readonly userId: number }
  | { readonly role: 'SYSTEM' };

export const SYSTEM: Actor = { role: 'SYSTEM' };

class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';

  constructor(message = 'You may not act for this user.') {
    super(message);
  }
}

/** A customer acts only for themselves; an admin or the system for anyone. */
export function mayActFor(actor: Actor, userId: number): boolean {
  return actor.role !== 'CUSTOMER' || actor.userId === userId;
}

export function assertMayActFor(actor: Actor, userId: number): void {
  if (!mayActFor(actor, userId)) throw new ForbiddenError();
}

/** Admits ADMIN (and SYSTEM, which only the shop's own processes hold); every other actor is refused. */
export function assertAdmin(actor: Actor): void {
  if (actor.role !== 'ADMIN' && actor.role !== 'SYSTEM') throw new ForbiddenError('Only an administrator may do this.');
}
