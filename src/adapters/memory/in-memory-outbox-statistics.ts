import type { Clock } from '../../application/ports/clock.js';
import {
  BACKLOG_STATUSES,
  type OutboxBacklog,
  type OutboxStatistics,
} from '../../application/ports/outbox-statistics.js';
import type { InMemoryStore } from './in-memory-store.js';

/** The outbox rows of an in-memory store, by status; the clock stands in for the database's now(). */
export class InMemoryOutboxStatistics implements OutboxStatistics {
  constructor(
    private readonly store: InMemoryStore,
    private readonly clock: Clock,
  ) {}

  async backlog(): Promise<OutboxBacklog[]> {
    const now = this.clock.now().getTime();
    return BACKLOG_STATUSES.map((status) => {
      const rows = this.store.state.outbox.filter((row) => row.delivery.status === status);
      const oldest = Math.min(...rows.map((row) => row.delivery.createdAt.getTime()));
      const held = rows.filter(
        ({ delivery }) =>
          status === 'PENDING' &&
          this.store.state.outbox.some(
            (earlier) =>
              earlier.delivery.orderId === delivery.orderId &&
              earlier.delivery.id < delivery.id &&
              earlier.delivery.status !== 'DELIVERED',
          ),
      );
      return {
        status,
        events: rows.length,
        oldestAgeSeconds: rows.length ? Math.max(0, (now - oldest) / 1000) : 0,
        heldBack: held.length,
      };
    });
  }
}
