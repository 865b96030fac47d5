import type { Order } from '../../domain/order/order.js';
import { UserNotFoundError } from '../../domain/user/user-errors.js';
import { type Actor, assertMayActFor } from '../shared/actor.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { OrderQueries } from '../ports/order-repository.js';
import type { UserQueries } from '../ports/user-repository.js';

export interface ListUserOrdersInput {
  readonly actor: Actor;
  readonly userId: number;
  readonly page: PageRequest;
}

export class ListUserOrders {
  constructor(
    private readonly users: UserQueries,
    private readonly orders: OrderQueries,
  ) {}

  async execute({ actor, userId, page }: ListUserOrdersInput): Promise<Page<Order>> {
    assertMayActFor(actor, userId);
    const [exists, orders] = await Promise.all([this.users.exists(userId), this.orders.listByUser(userId, page)]);
    if (!exists) throw new UserNotFoundError(userId);
    return orders;
  }
}
