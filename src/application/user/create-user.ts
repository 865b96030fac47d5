import { Balance } from '../../domain/balance/balance.js';
import { type AuditStamp, created } from '../../domain/audit/audit-entry.js';
import { User } from '../../domain/user/user.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import { auditHeader } from '../shared/audit.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateUserInput {
  readonly actor: Actor;
  readonly name: string;
  /** The request it comes from: its audit entry is written with the user. */
  readonly audit: AuditStamp;
}

export class CreateUser {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** A user is born with a zero balance, in the same transaction, so every user has exactly one. */
  async execute({ actor, name, audit }: CreateUserInput): Promise<User> {
    assertAdmin(actor);
    const header = auditHeader('user.create', actor, audit);
    const draft = User.draft({ name, createdAt: this.clock.now() });
    return this.uow.run(async (repos) => {
      const user = await repos.users.add(draft);
      await repos.balances.add(Balance.open(user.id, user.createdAt));
      const fields = { name: user.name, createdAt: user.createdAt.toISOString() };
      await repos.auditLog.append({ ...header, target: { type: 'user', id: user.id }, ...created(fields) });
      return user;
    });
  }
}
