import type { Clock } from '../../application/ports/clock.js';
import type {
  CouponIssuer,
  CouponQueries,
  CouponRepository,
  IssueRefusal,
  UserCouponFilter,
} from '../../application/ports/coupon-repository.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Coupon, type CouponDraft } from '../../domain/coupon/coupon.js';
import type { UserCoupon, UserCouponDraft } from '../../domain/coupon/user-coupon.js';
import { toUserCoupon } from './in-memory-rows.js';
import type { InMemoryStore, UserCouponRecord } from './in-memory-store.js';

export class InMemoryCouponRepository implements CouponRepository, CouponQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add(draft: CouponDraft, at: Date): Promise<Coupon> {
    const props = { ...draft, id: this.store.nextId('coupons'), issuedQuantity: 0 };
    this.store.state.coupons.set(props.id, { ...props, createdAt: at });
    return new Coupon(props);
  }

  async findById(couponId: number): Promise<Coupon | undefined> {
    const props = this.store.state.coupons.get(couponId);
    return props && new Coupon(props);
  }

  async listUserCoupons(
    userId: number,
    { status, now }: UserCouponFilter,
    { limit, after }: PageRequest,
  ): Promise<Page<UserCoupon>> {
    const rows = [...this.store.state.userCoupons.values()]
      .filter((record) => record.userId === userId && (after === undefined || record.id < after))
      .sort((a, b) => b.id - a.id)
      .map((record) => toUserCoupon(this.store, record))
      .filter((coupon) => status === undefined || coupon.statusAt(now) === status)
      .slice(0, limit + 1);
    return pageFrom(rows, limit, (coupon) => coupon.id);
  }
}

/**
 * The same one step as PostgreSQL's: it judges the window, counts the copy and stores it, or does none of
 * it. Run as a unit of work of its own (or as part of the open one), so it never lands inside another unit
 * of work that then rolls back over it. The window is judged by the set's clock at the instant of issue,
 * which stands in for the database's here, not by the draft's issuedAt.
 */
export class InMemoryCouponIssuer implements CouponIssuer {
  constructor(
    private readonly store: InMemoryStore,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal> {
    return this.uow.run(async () => this.issueNow(draft));
  }

  private issueNow(draft: UserCouponDraft): UserCoupon | IssueRefusal {
    const props = this.store.state.coupons.get(draft.couponId);
    if (props && !new Coupon(props).isIssuableAt(this.clock.now())) return 'NOT_ISSUABLE';
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
    return toUserCoupon(this.store, record);
  }
}
