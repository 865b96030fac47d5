import type { UserCouponRepository } from '../../application/ports/user-coupon-repository.js';
import { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Db } from './database.js';

export class PgUserCouponRepository implements UserCouponRepository {
  constructor(private readonly db: Db) {}

  async getByIdForUpdate(userCouponId: number): Promise<UserCoupon | undefined> {
    const row = await this.db
      .selectFrom('user_coupons as uc')
      .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
      .selectAll('uc')
      .select(['c.name', 'c.discount_type', 'c.discount_value'])
      .where('uc.id', '=', userCouponId)
      // Only the copy: the campaign row is the issuers' hot row and must not wait on orders.
      .forUpdate('uc')
      .executeTakeFirst();
    return (
      row &&
      new UserCoupon({
        id: row.id,
        couponId: row.coupon_id,
        userId: row.user_id,
        name: row.name,
        discountType: row.discount_type,
        discountValue: row.discount_value,
        issuedAt: row.issued_at,
        expiresAt: row.expires_at,
        usedAt: row.used_at,
        orderId: row.order_id,
      })
    );
  }

  async save(userCoupon: UserCoupon): Promise<void> {
    await this.db
      .updateTable('user_coupons')
      .set({ used_at: userCoupon.usedAt, order_id: userCoupon.orderId })
      .where('id', '=', userCoupon.id)
      .execute();
  }
}
