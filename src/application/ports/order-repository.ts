import type { Order } from '../../domain/order/order.js';
import type { Page, PageRequest } from '../shared/pagination.js';

/** Reads: no lock, no transaction of their own (see "Reads" on UnitOfWork). */
export interface OrderQueries {
  findById(orderId: number): Promise<Order | undefined>;
  /** Newest first; the page key is the order id. */
  listByUser(userId: number, page: PageRequest): Promise<Page<Order>>;
}
