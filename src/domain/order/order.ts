import type { UserCoupon } from '../coupon/user-coupon.js';
import type { Product } from '../product/product.js';
import { InvalidInputError } from '../shared/domain-error.js';
import { type CancellationDraft, cancelledGross, cancelledQuantities, refundedTotal } from './cancellation.js';
import { OrderNotCancellableError } from './order-errors.js';

export const ORDER_STATUSES = ['PAID', 'PARTIALLY_CANCELLED', 'CANCELLED'] as const;
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

/** A line as it stands: the units sold, how many of them are cancelled and how many may still be. */
export interface OrderLineView extends OrderLine {
  readonly cancelledQuantity: number;
  readonly cancellableQuantity: number;
}

export interface OrderDraft {
  readonly userId: number;
  /** Derived from the cancellations; a stored status may be passed, and must agree with them. */
  readonly status?: OrderStatus | undefined;
  readonly lines: OrderLine[];
  readonly totalAmount: number;
  readonly discountAmount: number;
  readonly paidAmount: number;
  readonly userCouponId: number | null;
  readonly createdAt: Date;
  /** In the order they were made; none for a new order. */
  readonly cancellations?: readonly CancellationDraft[] | undefined;
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

/** What the data platform receives for a cancellation (its event id is the outbox's). */
export interface OrderCancelledEvent {
  readonly orderId: number;
  readonly userId: number;
  readonly items: readonly OrderItem[];
  readonly refundAmount: number;
  readonly cancelledAt: string;
}

/** 1 to 50 lines, each a different product (a positive integer id), each 1 to 1,000 units. */
export function validateItems(items: readonly OrderItem[]): void {
  validateItemShapes(items, MAX_LINE_QUANTITY);
}

/**
 * A cancellation's items, when it names them: 1 to 50 lines, each a different product, each a positive
 * number of units (how many the line has left is the order's to judge, a 409 rather than a 400).
 */
export function validateCancellationItems(items: readonly OrderItem[]): void {
  validateItemShapes(items);
}

/** Why a line is refused when an earlier line names its product. */
export const ONE_LINE_PER_PRODUCT = 'appears on another line; one line per product';

/** The rule every list of items keeps: one line per product. The index of the first line breaking it. */
export function repeatedProductLine(items: readonly { readonly productId: number }[]): number | undefined {
  const seen = new Set<number>();
  const index = items.findIndex(({ productId }) => seen.size === seen.add(productId).size);
  return index === -1 ? undefined : index;
}

/**
 * The shape every list of items shares. `maxQuantity` is left out where a larger quantity is not malformed
 * but a business answer (a cancellation asking for more than is left of a line).
 */
function validateItemShapes(items: readonly OrderItem[], maxQuantity?: number): void {
  if (items.length < 1 || items.length > MAX_ORDER_LINES) {
    throw new InvalidInputError('items', `must have 1 to ${MAX_ORDER_LINES} lines`);
  }
  items.forEach(({ productId, quantity }, index) => {
    if (!Number.isSafeInteger(productId) || productId < 1)
      throw new InvalidInputError(`items.${index}.productId`, 'must be a positive integer');
    if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > (maxQuantity ?? Infinity)) {
      const rule = maxQuantity === undefined ? 'a positive integer' : `an integer from 1 to ${maxQuantity}`;
      throw new InvalidInputError(`items.${index}.quantity`, `must be ${rule}`);
    }
  });
  const repeated = repeatedProductLine(items);
  if (repeated !== undefined) throw new InvalidInputError(`items.${repeated}.productId`, ONE_LINE_PER_PRODUCT);
}

/**
 * A placed order. Immutable: a change of state returns a new Order (and what happened, where it matters).
 * `lines` are as sold and never change; the status, the refunds and what is left derive from `cancellations`.
 */
export class Order implements OrderProps {
  readonly id: number;
  readonly userId: number;
  readonly lines: OrderLine[];
  readonly totalAmount: number;
  readonly discountAmount: number;
  readonly paidAmount: number;
  readonly userCouponId: number | null;
  readonly createdAt: Date;
  readonly cancellations: readonly CancellationDraft[];

  constructor(props: OrderProps) {
    this.id = props.id;
    this.userId = props.userId;
    this.lines = props.lines;
    this.totalAmount = props.totalAmount;
    this.discountAmount = props.discountAmount;
    this.paidAmount = props.paidAmount;
    this.userCouponId = props.userCouponId;
    this.createdAt = props.createdAt;
    this.cancellations = props.cancellations ?? [];
    if (props.status !== undefined && props.status !== this.status) {
      throw new Error(`Order ${this.id} is stored as ${props.status} but its cancellations make it ${this.status}.`);
    }
  }

  get status(): OrderStatus {
    if (this.cancellations.length === 0) return 'PAID';
    return this.nothingLeft() ? 'CANCELLED' : 'PARTIALLY_CANCELLED';
  }

  /** The sum of the refunds so far: 0 until a cancellation refunds something. */
  get refundedAmount(): number {
    return this.cancellations.reduce((sum, cancellation) => sum + cancellation.refundAmount, 0);
  }

  /** When the order became CANCELLED: the cancellation that left nothing, which is always the last. */
  get cancelledAt(): Date | null {
    return this.status === 'CANCELLED' ? (this.cancellations.at(-1)?.createdAt ?? null) : null;
  }

  get lineViews(): OrderLineView[] {
    const cancelled = cancelledQuantities(this.cancellations);
    return this.lines.map((line) => {
      const cancelledQuantity = cancelled.get(line.productId) ?? 0;
      return { ...line, cancelledQuantity, cancellableQuantity: line.quantity - cancelledQuantity };
    });
  }

  /**
   * Cancels `items`, or everything not yet cancelled when undefined, and answers the order as it is after
   * with the cancellation that says what was taken back and what it refunds (possibly 0). The lines are
   * judged in the order given; the first asking for more than is left of its line is the error.
   */
  /** Cancels `items` (validateCancellationItems), or everything left when undefined. */
  cancel(items: readonly OrderItem[] | undefined, at: Date): { order: Order; cancellation: CancellationDraft } {
    if (items !== undefined) validateCancellationItems(items);
    if (this.nothingLeft()) throw new OrderNotCancellableError({ orderId: this.id });
    const views = this.lineViews;
    const wanted =
      items ??
      views
        .filter((line) => line.cancellableQuantity > 0)
        .map((line) => ({ productId: line.productId, quantity: line.cancellableQuantity }));
    const lines = wanted.map(({ productId, quantity }) => {
      const line = views.find((view) => view.productId === productId);
      const cancellable = line?.cancellableQuantity ?? 0;
      if (!line || quantity > cancellable) {
        throw new OrderNotCancellableError({ orderId: this.id, productId, requested: quantity, cancellable });
      }
      return { productId, quantity, unitPrice: line.unitPrice, amount: line.unitPrice * quantity };
    });
    const gross = cancelledGross(this.cancellations) + lines.reduce((sum, line) => sum + line.amount, 0);
    const refundAmount = refundedTotal(this.paidAmount, this.totalAmount, gross) - this.refundedAmount;
    const cancellation: CancellationDraft = { orderId: this.id, lines, refundAmount, createdAt: at };
    const order = new Order({
      id: this.id,
      userId: this.userId,
      lines: this.lines,
      totalAmount: this.totalAmount,
      discountAmount: this.discountAmount,
      paidAmount: this.paidAmount,
      userCouponId: this.userCouponId,
      createdAt: this.createdAt,
      cancellations: [...this.cancellations, cancellation],
    });
    return { order, cancellation };
  }

  private nothingLeft(): boolean {
    return this.lineViews.every((line) => line.cancellableQuantity === 0);
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

  /** What the data platform is told of one of this order's cancellations. */
  cancelledEvent(cancellation: CancellationDraft): OrderCancelledEvent {
    if (cancellation.orderId !== this.id) {
      throw new Error(`A cancellation of order ${cancellation.orderId} is not one of order ${this.id}.`);
    }
    return {
      orderId: this.id,
      userId: this.userId,
      items: cancellation.lines.map(({ productId, quantity }) => ({ productId, quantity })),
      refundAmount: cancellation.refundAmount,
      cancelledAt: cancellation.createdAt.toISOString(),
    };
  }
}
