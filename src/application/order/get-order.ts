import type { Order } from '../../domain/order/order.js';
import { OrderNotFoundError } from '../../domain/order/order-errors.js';
import { type Actor, mayActFor } from '../shared/actor.js';
import type { OrderQueries } from '../ports/order-repository.js';

export interface GetOrderInput {
  readonly actor: Actor;
  readonly orderId: number;
}

export class GetOrder {
  constructor(private readonly orders: OrderQueries) {}

  async execute({ actor, orderId }: GetOrderInput): Promise<Order> {
    const order = await this.orders.findById(orderId);
    // Another customer's order reads as one that does not exist: its id tells them nothing.
    if (!order || !mayActFor(actor, order.userId)) throw new OrderNotFoundError(orderId);
    return order;
  }
}
