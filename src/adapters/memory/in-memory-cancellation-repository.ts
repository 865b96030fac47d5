import type {
  CancellationRecord,
  CancellationRepository,
  CancellationTarget,
  RecordRefusal,
} from '../../application/ports/cancellation-repository.js';
import type { Cancellation } from '../../domain/order/cancellation.js';
import { Order } from '../../domain/order/order.js';
import { MAX_STOCK, exceedsStockLimit } from '../../domain/product/product.js';
import type { InMemoryOutbox } from './in-memory-outbox.js';
import { addDailySales, balanceRow, landBalanceChange, userCouponRow, writeCouponUse } from './in-memory-rows.js';
import type { InMemoryStore } from './in-memory-store.js';

/** Cancellations on the fakes. Units of work run one at a time here, so nothing changes between the steps. */
export class InMemoryCancellationRepository implements CancellationRepository {
  constructor(
    private readonly store: InMemoryStore,
    private readonly outbox: InMemoryOutbox,
  ) {}

  async open(orderId: number, buyerId?: number): Promise<CancellationTarget | undefined> {
    const props = this.store.state.orders.get(orderId);
    if (!props || (buyerId !== undefined && props.userId !== buyerId)) return undefined;
    const order = new Order(props);
    const balance = balanceRow(this.store, order.userId);
    if (!balance) return undefined;
    const coupon = order.userCouponId === null ? undefined : userCouponRow(this.store, order.userCouponId);
    return { order, balance, coupon };
  }

  async record({
    order,
    cancellation,
    refund,
    couponReleased,
    salesDay,
    event,
  }: CancellationRecord): Promise<Cancellation | RecordRefusal> {
    const { products, stockAdjustments } = this.store.state;
    for (const line of [...cancellation.lines].sort((a, b) => a.productId - b.productId)) {
      const { stock } = products.get(line.productId)!;
      if (exceedsStockLimit(stock, line.quantity))
        return { stockLimit: { productId: line.productId, stock, stockDelta: line.quantity, limit: MAX_STOCK } };
    }
    const recorded: Cancellation = { ...cancellation, id: this.store.nextId('cancellations') };
    for (const { productId, quantity } of cancellation.lines) {
      const product = products.get(productId)!;
      products.set(productId, { ...product, stock: product.stock + quantity });
      stockAdjustments.push({
        productId,
        delta: quantity,
        reason: 'CANCELLATION',
        at: cancellation.createdAt,
        auditEntryId: null,
      });
    }
    // The stored order's earlier cancellations and this one, whatever the caller's order carries.
    const stored = this.store.state.orders.get(order.id)!;
    const cancellations = [...(stored.cancellations ?? []), recorded];
    this.store.state.orders.set(order.id, { ...stored, cancellations });
    if (refund) landBalanceChange(this.store, refund);
    if (couponReleased) writeCouponUse(this.store, couponReleased);
    addDailySales(this.store, salesDay, cancellation.lines, -1);
    await this.outbox.add({ type: 'ORDER_CANCELLED', body: event }, recorded.id);
    return recorded;
  }
}
