import type { Delivery } from '../../domain/data-platform/delivery.js';
import { AlreadyDeliveredError, DeliveryNotFoundError } from '../../domain/data-platform/delivery-errors.js';
import { assertAdmin } from '../shared/actor.js';
import { auditHeader } from '../shared/audit.js';
import type { DeliveryStore } from '../ports/data-platform.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';
import { type DeliveryStepInput, auditedStep } from './delivery-operations.js';

/**
 * An operator sends a parked (or slow) delivery again: due now, attempts from zero. A retry of a delivery
 * that is being sent right now may send it twice; the platform dedupes on the event id. The step runs in a
 * unit of work, which the store's step joins, so its audit entry commits with it; a refused retry writes none.
 */
export class RetryDelivery {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly deliveries: DeliveryStore,
  ) {}

  async execute({ actor, eventId, audit }: DeliveryStepInput): Promise<Delivery> {
    assertAdmin(actor);
    const header = auditHeader('delivery.retry', actor, audit);
    return this.uow.run(async (repos) => {
      const step = await this.deliveries.resetForRetry(eventId);
      if (!step) throw new DeliveryNotFoundError(eventId);
      const { after } = step;
      if (after.status === 'DELIVERED') {
        throw new AlreadyDeliveredError({ eventId, deliveredAt: after.deliveredAt?.toISOString() ?? null });
      }
      await repos.auditLog.append(auditedStep(header, step));
      return after;
    });
  }
}
