import type { Order, OrderDraft } from '../../domain/order/order.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Writes, inside a unit of work. */
export interface OrderRepository {
  /** Stores the order, its lines and its payment. */
  add(draft: OrderDraft): Promise<Order>;
}

/** Reads that need no lock and no transaction. */
export interface OrderQueries {
  findById(orderId: number): Promise<Order | undefined>;
  /** Newest first; the page key is the order id. */
  listByUser(userId: number, page: PageRequest): Promise<Page<Order>>;
}
