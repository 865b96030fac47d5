import type { UnitsSold } from '../../application/ports/sales-statistics.js';
import { Balance, type BalanceChange, type LedgerEntry } from '../../domain/balance/balance.js';
import { UserCoupon } from '../../domain/coupon/user-coupon.js';
import { Product } from '../../domain/product/product.js';
import type { LocalDate } from '../../domain/statistics/shop-calendar.js';
import type { InMemoryStore, UserCouponRecord } from './in-memory-store.js';

// The rows the in-memory adapters share, read and written as their tables are. Each fake implements its own
// port and reaches another table through these, never through another fake's methods, so no fake grows a
// method its port does not have.

export function balanceRow(store: InMemoryStore, userId: number): Balance | undefined {
  const record = store.state.balances.get(userId);
  return record && new Balance(record);
}

/** The new balance and its ledger entry, written together. */
export function landBalanceChange(store: InMemoryStore, { balance, entry }: BalanceChange): LedgerEntry {
  store.state.balances.set(balance.userId, { ...balance });
  const saved = { ...entry, id: store.nextId('ledger') };
  store.state.ledger.push(saved);
  return saved;
}

/** A stored copy with its campaign's name and discount, as the ports answer it. */
export function toUserCoupon(store: InMemoryStore, record: UserCouponRecord): UserCoupon {
  const coupon = store.state.coupons.get(record.couponId);
  if (!coupon) throw new Error(`user coupon ${record.id} refers to a missing coupon`);
  return new UserCoupon({
    ...record,
    name: coupon.name,
    discountType: coupon.discountType,
    discountValue: coupon.discountValue,
  });
}

export function userCouponRow(store: InMemoryStore, userCouponId: number): UserCoupon | undefined {
  const record = store.state.userCoupons.get(userCouponId);
  return record && toUserCoupon(store, record);
}

/** A copy used by an order, or released by its cancellation: only those two columns change. */
export function writeCouponUse(store: InMemoryStore, { id, usedAt, orderId }: UserCoupon): void {
  const record = store.state.userCoupons.get(id);
  if (!record) throw new Error(`no user coupon ${id}`);
  store.state.userCoupons.set(id, { ...record, usedAt, orderId });
}

/** The products of `productIds` that exist, by id. */
export function productRows(store: InMemoryStore, productIds: readonly number[]): Map<number, Product> {
  const found = new Map<number, Product>();
  for (const id of productIds) {
    const record = store.state.products.get(id);
    if (record) found.set(id, new Product(record));
  }
  return found;
}

/** Units sold (sign 1) or cancelled (sign -1) on the day they were sold. */
export function addDailySales(store: InMemoryStore, day: LocalDate, lines: readonly UnitsSold[], sign: 1 | -1): void {
  for (const { productId, quantity } of lines) {
    const key = `${day}|${productId}`;
    store.state.dailySales.set(key, (store.state.dailySales.get(key) ?? 0) + sign * quantity);
  }
}
