import type { OrderQueries } from '../../application/ports/order-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Order } from '../../domain/order/order.js';
import type { InMemoryStore } from './in-memory-store.js';

export class InMemoryOrderRepository implements OrderQueries {
  constructor(private readonly store: InMemoryStore) {}

  async findById(orderId: number): Promise<Order | undefined> {
    const props = this.store.state.orders.get(orderId);
    return props && new Order(props);
  }

  async listByUser(userId: number, { limit, after }: PageRequest): Promise<Page<Order>> {
    const rows = [...this.store.state.orders.values()]
      .filter((order) => order.userId === userId && (after === undefined || order.id < after))
      .sort((a, b) => b.id - a.id)
      .slice(0, limit + 1)
      .map((props) => new Order(props));
    return pageFrom(rows, limit, (order) => order.id);
  }
}
