import type { AuditStamp, NewAuditEntry } from '../../domain/audit/audit-entry.js';
import { changed } from '../../domain/audit/audit-entry.js';
import type { Delivery } from '../../domain/data-platform/delivery.js';
import { DeliveryNotFoundError } from '../../domain/data-platform/delivery-errors.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import { type AuditHeader, auditHeader } from '../shared/audit.js';
import type { DeliveryDetail, DeliveryStep, DeliveryStore } from '../ports/data-platform.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface DeliveryOperationInput {
  readonly actor: Actor;
  readonly eventId: string;
}

/** An operator's step changes a delivery: the request it comes from is audited with it. */
export interface DeliveryStepInput extends DeliveryOperationInput {
  readonly audit: AuditStamp;
}

const scheduleOf = ({ status, attempts, nextAttemptAt, deliveredAt }: Delivery) => ({
  status,
  attempts,
  nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
  deliveredAt: deliveredAt?.toISOString() ?? null,
});

/** The audit entry of an operator's step: what it changed of the delivery's status and schedule. */
export function auditedStep(header: AuditHeader, { before, after }: DeliveryStep): NewAuditEntry {
  return {
    ...header,
    target: { type: 'delivery', id: after.eventId },
    ...changed(scheduleOf(before), scheduleOf(after)),
  };
}

/** An operator looks at one delivery: its status, what it waits on, the body it sends and its last attempts. */
export class GetDelivery {
  constructor(private readonly deliveries: DeliveryStore) {}

  async execute({ actor, eventId }: DeliveryOperationInput): Promise<DeliveryDetail> {
    assertAdmin(actor);
    const detail = await this.deliveries.find(eventId);
    if (!detail) throw new DeliveryNotFoundError(eventId);
    return detail;
  }
}

/**
 * An operator sends an event again, whatever its status, DELIVERED too (the platform lost it, or restored a
 * backup): the same event id and body, a fresh timestamp and signature, as soon as its order's earlier
 * events allow. The platform dedupes on the event id; a redelivery is for when it has nothing to dedupe.
 * The step runs in a unit of work, which the store's step joins, so its audit entry commits with it.
 */
export class RedeliverEvent {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly deliveries: DeliveryStore,
  ) {}

  async execute({ actor, eventId, audit }: DeliveryStepInput): Promise<Delivery> {
    assertAdmin(actor);
    const header = auditHeader('delivery.redeliver', actor, audit);
    return this.uow.run(async (repos) => {
      const step = await this.deliveries.redeliver(eventId);
      if (!step) throw new DeliveryNotFoundError(eventId);
      await repos.auditLog.append(auditedStep(header, step));
      return step.after;
    });
  }
}
