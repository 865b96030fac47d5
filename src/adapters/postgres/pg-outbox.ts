import { sql } from 'kysely';
import type { Outbox } from '../../application/ports/outbox.js';
import type { OrderPaidEvent } from '../../domain/order/order.js';
import type { Db } from './database.js';

export class PgOutbox implements Outbox {
  constructor(private readonly db: Db) {}

  /**
   * Due at once by the database's clock, the one every relay compares with (an instance's own clock running
   * ahead would hold the event back); the relay picks it up after the commit. The event id comes from the
   * database.
   */
  async add(event: OrderPaidEvent): Promise<void> {
    await this.db
      .insertInto('data_platform_outbox')
      .values({
        order_id: event.orderId,
        payload: JSON.stringify(event),
        next_attempt_at: sql<Date>`now()`,
        created_at: sql<Date>`now()`,
      })
      .execute();
  }
}
