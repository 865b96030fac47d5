import { DomainError } from '../../domain/shared/domain-error.js';

/**
 * Who a request acts for. Use cases receive it explicitly and never trust a path parameter alone.
 * `unrestricted` is what the edge passes while authentication is off; with JWT it becomes `user` or `admin`.
 */
export type Actor =
  | { readonly role: 'user'; readonly userId: number }
  | { readonly role: 'admin' }
  | { readonly role: 'unrestricted' };

export const UNRESTRICTED: Actor = { role: 'unrestricted' };

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';

  constructor() {
    super('You may not act for this user.');
  }
}

export function assertMayActFor(actor: Actor, userId: number): void {
  if (actor.role === 'user' && actor.userId !== userId) throw new ForbiddenError();
}

export function assertAdmin(actor: Actor): void {
  if (actor.role === 'user') throw new ForbiddenError();
}
