/**
 * A business rule said no. `code` is the stable, machine-readable name clients branch on; `facts` are the
 * numbers and ids that explain it. No transport status lives here: the HTTP edge maps codes to statuses.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;

  constructor(
    message: string,
    readonly facts: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that breaks an entity's own rule; the edge reports it like any other invalid field. */
export class InvalidInputError extends DomainError {
  readonly code = 'INVALID_REQUEST';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
