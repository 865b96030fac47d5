/** Units of one product taken back, priced as the order sold them. */
export interface CancellationLine {
  readonly productId: number;
  readonly quantity: number;
  readonly unitPrice: number;
  /** unitPrice × quantity: the gross value cancelled, before the discount is shared out. */
  readonly amount: number;
}

/**
 * One cancellation of an order, a record of its own (like Vendure's typed stock movements): the order's lines
 * are never edited, and what is cancelled, refunded and left of an order is derived from its cancellations.
 */
export interface CancellationDraft {
  readonly orderId: number;
  readonly lines: readonly CancellationLine[];
  readonly refundAmount: number;
  readonly createdAt: Date;
}

export interface Cancellation extends CancellationDraft {
  readonly id: number;
}

/** Units cancelled so far, per product id. */
export function cancelledQuantities(cancellations: readonly CancellationDraft[]): Map<number, number> {
  const quantities = new Map<number, number>();
  for (const { lines } of cancellations) {
    for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  }
  return quantities;
}

/** The gross value (unitPrice × quantity) of every unit cancelled so far. */
export function cancelledGross(cancellations: readonly CancellationDraft[]): number {
  return cancellations.reduce((sum, { lines }) => sum + lines.reduce((gross, line) => gross + line.amount, 0), 0);
}

/**
 * What an order has refunded in all once `gross` of its `totalAmount` is cancelled: floor(paid · gross / total),
 * 0 for an order of 0. Cumulative, so the refunds share the discount in proportion and add up to exactly the
 * paid amount once everything is cancelled. BigInt, because paid · gross passes 2^53 (50 lines × 1,000 units
 * × 100,000,000 KRW is 5·10^12 each way); the quotient never exceeds `paidAmount`, so it is safe as a number.
 */
export function refundedTotal(paidAmount: number, totalAmount: number, gross: number): number {
  if (totalAmount === 0) return 0;
  return Number((BigInt(paidAmount) * BigInt(gross)) / BigInt(totalAmount));
}
