import type { UserCouponRepository } from '../../application/ports/user-coupon-repository.js';
import type { UserCoupon } from '../../domain/coupon/user-coupon.js';
import type { Db } from './database.js';
import { toUserCoupon } from './pg-coupon-repository.js';

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
    return row && toUserCoupon(row);
  }

  async save(userCoupon: UserCoupon): Promise<void> {
    await this.db
      .updateTable('user_coupons')
      .set({ used_at: userCoupon.usedAt, order_id: userCoupon.orderId })
      .where('id', '=', userCoupon.id)
      .execute();
  }
}
