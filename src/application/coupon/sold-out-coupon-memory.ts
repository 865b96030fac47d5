import type { Coupon } from '../../domain/coupon/coupon.js';
import { CouponSoldOutError } from '../../domain/coupon/coupon-errors.js';
import type { UserCoupon, UserCouponDraft } from '../../domain/coupon/user-coupon.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { Clock } from '../ports/clock.js';
import type { CouponIssuer, CouponQueries, IssueRefusal, UserCouponFilter } from '../ports/coupon-repository.js';

/** How long a campaign read is reused for its terms. */
export const CAMPAIGN_TERMS_TTL_MS = 1_000;
/** Campaigns remembered at once: a bound only, as a shop runs far fewer. */
const MAX_CAMPAIGNS = 10_000;

/**
 * The coupon reads and the issue step of IssueCoupon, remembering each campaign read sold out while it can be
 * issued, or whose issue step answered SOLD_OUT (a storm's race the read did not see), so the rest of
 * a storm is answered COUPON_SOLD_OUT without a read, a transaction or a wait on a row lock (the
 * contract lets a coupon known to be sold out answer so ahead of every check but COUPON_NOT_FOUND). Safe
 * because issuing only ever raises issuedQuantity: a sold-out campaign stays sold out. The entries still
 * expire, so a future change of totalQuantity is seen within `ttlMs`. A campaign this process's clock puts
 * outside its window is not remembered, so that the issue step, which judges the window by the database's
 * clock, answers it COUPON_NOT_ISSUABLE, ahead of COUPON_SOLD_OUT.
 *
 * A campaign read is also reused for CAMPAIGN_TERMS_TTL_MS: its terms (discount, quantity, window, days) are
 * fixed when it is made, and its count, which moves, is decided by the issue step, not by this read. So a
 * storm costs the issue statement alone, not a read of the campaign before it. An unknown campaign is read
 * every time, as it may be made meanwhile.
 */
export class SoldOutCouponMemory implements CouponQueries, CouponIssuer {
  private readonly entries = new Map<number, { totalQuantity: number; until: number }>();
  /**
   * Each campaign as last read, reused until `until`; kept past it, for the quantity in the error of one the
   * issue step finds sold out.
   */
  private readonly terms = new Map<number, { coupon: Coupon; until: number }>();

  constructor(
    private readonly coupons: CouponQueries,
    private readonly issuer: CouponIssuer,
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
  ) {}

  /** Throws COUPON_SOLD_OUT, reading nothing, when the campaign is known to be sold out. */
  async findById(couponId: number): Promise<Coupon | undefined> {
    const now = this.clock.now();
    const entry = this.entries.get(couponId);
    if (entry && now.getTime() < entry.until) {
      throw new CouponSoldOutError({ couponId, totalQuantity: entry.totalQuantity });
    }
    if (entry) this.entries.delete(couponId);
    const known = this.terms.get(couponId);
    if (known && now.getTime() < known.until) return known.coupon;

    const coupon = await this.coupons.findById(couponId);
    if (coupon) {
      if (this.terms.size >= MAX_CAMPAIGNS) this.terms.clear();
      this.terms.set(couponId, { coupon, until: now.getTime() + CAMPAIGN_TERMS_TTL_MS });
    }
    if (coupon?.soldOut && coupon.isIssuableAt(now)) this.remember(couponId, coupon.totalQuantity);
    return coupon;
  }

  async issue(draft: UserCouponDraft): Promise<UserCoupon | IssueRefusal> {
    const issued = await this.issuer.issue(draft);
    const totalQuantity = this.terms.get(draft.couponId)?.coupon.totalQuantity;
    if (issued === 'SOLD_OUT' && totalQuantity !== undefined) this.remember(draft.couponId, totalQuantity);
    return issued;
  }

  private remember(couponId: number, totalQuantity: number): void {
    this.entries.set(couponId, { totalQuantity, until: this.clock.now().getTime() + this.ttlMs });
  }

  listUserCoupons(userId: number, filter: UserCouponFilter, page: PageRequest): Promise<Page<UserCoupon>> {
    return this.coupons.listUserCoupons(userId, filter, page);
  }
}
