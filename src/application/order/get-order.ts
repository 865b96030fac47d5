import type { Order } from '../../domain/order/order.js';
import { OrderNotFoundError } from '../../domain/order/order-errors.js';
import { ForbiddenError, type Actor } from '../shared/actor.js';
import type { OrderQueries } from '../ports/order-repository.js';

export interface GetOrderInput {
  readonly actor: Actor;
  readonly orderId: number;
}

export class GetOrder {
  constructor(private readonly orders: OrderQueries) {}

  async execute({ actor, orderId }: GetOrderInput): Promise<Order> {
    const order = await this.orders.findById(orderId);
    if (!order) throw new OrderNotFoundError(orderId);
    if (actor.role === 'user' && actor.userId !== order.userId) throw new ForbiddenError();
    return order;
  }
}
