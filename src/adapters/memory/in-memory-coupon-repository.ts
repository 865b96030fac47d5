import type {
  CouponIssuer,
  CouponQueries,
  CouponRepository,
  IssueRefusal,
  UserCouponFilter,
} from '../../application/ports/coupon-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Coupon, type CouponDraft } from '../../domain/coupon/coupon.js';
import { UserCoupon, type UserCouponDraft } from '../../domain/coupon/user-coupon.js';
import type { InMemoryStore, UserCouponRecord } from './in-memory-store.js';

export class InMemoryCouponRepository implements CouponRepository, CouponIssuer, CouponQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add(draft: CouponDraft): Promise<Coupon> {
    const props = { ...draft, id: this.store.nextId('coupons'), issuedQuantity: 0 };
    this.store.state.coupons.set(props.id, props);
    return new Coupon(props);
  }

  async findById(couponId: number): Promise<Coupon | undefined> {
    const props = this.store.state.coupons.get(couponId);
    return props && new Coupon(props);
  }

  /**
   * Atomic because it never awaits between its check and its writes. The window is judged at the copy's
   * issue instant: the app's clock stands in for the database's here, and nothing waits on a lock.
   */
  async issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal> {
    const props = this.store.state.coupons.get(draft.couponId);
    if (props && !new Coupon(props).isIssuableAt(draft.issuedAt)) return 'NOT_ISSUABLE';
    if (!props || new Coupon(props).soldOut) return 'SOLD_OUT';
    if (!this.store.state.users.has(draft.userId)) return 'USER_NOT_FOUND';
    const held = [...this.store.state.userCoupons.values()].some(
      (r) => r.couponId === draft.couponId && r.userId === draft.userId,
    );
    if (held) return 'ALREADY_ISSUED';
    this.store.state.coupons.set(draft.couponId, { ...props, issuedQuantity: props.issuedQuantity + 1 });
    const record: UserCouponRecord = {
      id: this.store.nextId('userCoupons'),
      couponId: draft.couponId,
      userId: draft.userId,
      issuedAt: draft.issuedAt,
      expiresAt: draft.expiresAt,
      usedAt: null,
      orderId: null,
    };
    this.store.state.userCoupons.set(record.id, record);
    return this.toUserCoupon(record);
  }

  async listUserCoupons(
    userId: number,
    { status, now }: UserCouponFilter,
    { limit, after }: PageRequest,
  ): Promise<Page<UserCoupon>> {
    const rows = [...this.store.state.userCoupons.values()]
      .filter((record) => record.userId === userId && (after === undefined || record.id < after))
      .sort((a, b) => b.id - a.id)
      .map((record) => this.toUserCoupon(record))
      .filter((coupon) => status === undefined || coupon.statusAt(now) === status)
      .slice(0, limit + 1);
    return pageFrom(rows, limit, (coupon) => coupon.id);
  }

  async getByIdForUpdate(userCouponId: number): Promise<UserCoupon | undefined> {
    const record = this.store.state.userCoupons.get(userCouponId);
    return record && this.toUserCoupon(record);
  }

  async save(userCoupon: UserCoupon): Promise<void> {
    const record = this.store.state.userCoupons.get(userCoupon.id);
    if (!record) throw new Error(`no user coupon ${userCoupon.id}`);
    this.store.state.userCoupons.set(userCoupon.id, {
      ...record,
      usedAt: userCoupon.usedAt,
      orderId: userCoupon.orderId,
    });
  }

  private toUserCoupon(record: UserCouponRecord): UserCoupon {
    const coupon = this.store.state.coupons.get(record.couponId);
    if (!coupon) throw new Error(`user coupon ${record.id} refers to a missing coupon`);
    return new UserCoupon({
      ...record,
      name: coupon.name,
      discountType: coupon.discountType,
      discountValue: coupon.discountValue,
    });
  }
}
