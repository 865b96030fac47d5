import type { UserCoupon } from '../coupon/user-coupon.js';
import type { Product } from '../product/product.js';
import { InvalidInputError } from '../shared/domain-error.js';

export const ORDER_STATUSES = ['PAID'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const MAX_ORDER_LINES = 50;
export const MAX_LINE_QUANTITY = 1_000;

export interface OrderItem {
  readonly productId: number;
  readonly quantity: number;
}

export interface OrderLine {
  readonly productId: number;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly amount: number;
}

export interface OrderDraft {
  readonly userId: number;
  readonly status: OrderStatus;
  readonly lines: OrderLine[];
  readonly totalAmount: number;
  readonly discountAmount: number;
  readonly paidAmount: number;
  readonly userCouponId: number | null;
  readonly createdAt: Date;
}

export interface OrderProps extends OrderDraft {
  readonly id: number;
}

/** What the data platform receives for a paid order (its event id is the outbox's). */
export interface OrderPaidEvent {
  readonly orderId: number;
  readonly userId: number;
  readonly items: OrderLine[];
  readonly totalAmount: number;
  readonly discountAmount: number;
  readonly paidAmount: number;
  readonly paidAt: string;
}

/** 1 to 50 lines, each a different product (a positive integer id), each 1 to 1,000 units. */
export function validateItems(items: readonly OrderItem[]): void {
  if (items.length < 1 || items.length > MAX_ORDER_LINES) {
    throw new InvalidInputError('items', `must have 1 to ${MAX_ORDER_LINES} lines`);
  }
  const seen = new Set<number>();
  items.forEach(({ productId, quantity }, index) => {
    if (!Number.isSafeInteger(productId) || productId < 1)
      throw new InvalidInputError(`items.${index}.productId`, 'must be a positive integer');
    if (seen.has(productId))
      throw new InvalidInputError(`items.${index}.productId`, 'appears on another line; one line per product');
    seen.add(productId);
    if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
      throw new InvalidInputError(`items.${index}.quantity`, `must be an integer from 1 to ${MAX_LINE_QUANTITY}`);
    }
  });
}

/** A placed order. Immutable: a change of state returns a new Order (and what happened, where it matters). */
export class Order implements OrderProps {
  readonly id: number;
  readonly userId: number;
  readonly status: OrderStatus;
  readonly lines: OrderLine[];
  readonly totalAmount: number;
  readonly discountAmount: number;
  readonly paidAmount: number;
  readonly userCouponId: number | null;
  readonly createdAt: Date;

  constructor(props: OrderProps) {
    this.id = props.id;
    this.userId = props.userId;
    this.status = props.status;
    this.lines = props.lines;
    this.totalAmount = props.totalAmount;
    this.discountAmount = props.discountAmount;
    this.paidAmount = props.paidAmount;
    this.userCouponId = props.userCouponId;
    this.createdAt = props.createdAt;
  }

  /**
   * A new order, PAID, priced at the products' current prices: each line's amount, their total, the
   * coupon's discount (never more than the total) and what is left to pay. The caller has checked the
   * items (validateItems), the stock and that the coupon is the user's and usable.
   */
  static place(input: {
    readonly userId: number;
    readonly lines: readonly { product: Product; quantity: number }[];
    readonly coupon?: UserCoupon | undefined;
    readonly at: Date;
  }): OrderDraft {
    const lines = input.lines.map(({ product, quantity }) => ({
      productId: product.id,
      name: product.name,
      quantity,
      unitPrice: product.price,
      amount: product.price * quantity,
    }));
    const totalAmount = lines.reduce((sum, line) => sum + line.amount, 0);
    const discountAmount = input.coupon ? input.coupon.discountOn(totalAmount) : 0;
    return {
      userId: input.userId,
      status: 'PAID',
      lines,
      totalAmount,
      discountAmount,
      paidAmount: totalAmount - discountAmount,
      userCouponId: input.coupon?.id ?? null,
      createdAt: input.at,
    };
  }

  /** What the data platform is told once the order is paid. */
  paidEvent(): OrderPaidEvent {
    return {
      orderId: this.id,
      userId: this.userId,
      items: this.lines,
      totalAmount: this.totalAmount,
      discountAmount: this.discountAmount,
      paidAmount: this.paidAmount,
      paidAt: this.createdAt.toISOString(),
    };
  }
}
