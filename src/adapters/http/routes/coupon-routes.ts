import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreateCoupon } from '../../../application/coupon/create-coupon.js';
import type { GetCoupon } from '../../../application/coupon/get-coupon.js';
import type { IssueCoupon } from '../../../application/coupon/issue-coupon.js';
import type { HeldCoupon, ListUserCoupons } from '../../../application/coupon/list-user-coupons.js';
import {
  COUPON_NAME_MAX_LENGTH,
  type Coupon,
  DISCOUNT_TYPES,
  MAX_COUPON_QUANTITY,
  MAX_DISCOUNT_VALUE,
  MAX_VALID_DAYS,
} from '../../../domain/coupon/coupon.js';
import { USER_COUPON_STATUSES, type UserCoupon, type UserCouponStatus } from '../../../domain/coupon/user-coupon.js';
import type { RunIdempotently } from '../../../application/idempotency/run-idempotently.js';
import { auditStampOf } from '../audit.js';
import { actorOf } from '../auth.js';
import { idempotencyHeaders, replyIdempotently } from '../idempotency.js';
import {
  commonErrors,
  idParam,
  idValue,
  iso,
  nameText,
  pageQuery,
  paginated,
  problemSchema,
  timestamp,
  timestampInput,
  toPageRequest,
  toPaginated,
  userIdParams,
} from '../schemas.js';

export interface CouponRoutesOptions {
  runIdempotently: RunIdempotently;
  createCoupon: CreateCoupon;
  getCoupon: GetCoupon;
  issueCoupon: IssueCoupon;
  listUserCoupons: ListUserCoupons;
}

const couponIdParams = z.object({ couponId: idParam });
const discountType = z.enum(DISCOUNT_TYPES);
const userCouponStatus = z.enum(USER_COUPON_STATUSES);

export const couponView = z.object({
  id: z.number().int(),
  name: z.string(),
  discountType,
  discountValue: z.number().int(),
  totalQuantity: z.number().int(),
  issuedQuantity: z.number().int(),
  issueStartsAt: timestamp.nullable(),
  issueEndsAt: timestamp.nullable(),
  validDays: z.number().int(),
});

export const userCouponView = z.object({
  userCouponId: z.number().int(),
  couponId: z.number().int(),
  userId: z.number().int(),
  name: z.string(),
  discountType,
  discountValue: z.number().int(),
  status: userCouponStatus,
  issuedAt: timestamp,
  expiresAt: timestamp,
  usedAt: timestamp.nullable(),
  orderId: z.number().int().nullable(),
});

const createCouponBody = z
  .strictObject({
    name: nameText(COUPON_NAME_MAX_LENGTH),
    discountType,
    discountValue: z
      .number()
      .int()
      .min(1)
      .max(Math.max(...Object.values(MAX_DISCOUNT_VALUE)))
      .describe(DISCOUNT_TYPES.map((type) => `${type}: 1..${MAX_DISCOUNT_VALUE[type]}`).join('; ')),
    totalQuantity: z.number().int().min(1).max(MAX_COUPON_QUANTITY),
    validDays: z.number().int().min(1).max(MAX_VALID_DAYS),
    issueStartsAt: timestampInput.nullable().optional(),
    issueEndsAt: timestampInput.nullable().optional(),
  })
  .superRefine((body, ctx) => {
    const max = MAX_DISCOUNT_VALUE[body.discountType];
    if (body.discountValue > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['discountValue'],
        message: `a ${body.discountType} discount is 1 to ${max}`,
      });
    }
    if (body.issueStartsAt && body.issueEndsAt && new Date(body.issueStartsAt) >= new Date(body.issueEndsAt)) {
      ctx.addIssue({ code: 'custom', path: ['issueEndsAt'], message: 'must be after issueStartsAt' });
    }
  });

const issueBody = z.strictObject({ userId: idValue });
const listQuery = pageQuery.extend({ status: userCouponStatus.optional() });

const presentCoupon = (coupon: Coupon) => ({
  id: coupon.id,
  name: coupon.name,
  discountType: coupon.discountType,
  discountValue: coupon.discountValue,
  totalQuantity: coupon.totalQuantity,
  issuedQuantity: coupon.issuedQuantity,
  issueStartsAt: iso(coupon.issueStartsAt),
  issueEndsAt: iso(coupon.issueEndsAt),
  validDays: coupon.validDays,
});

const presentUserCoupon = (coupon: UserCoupon, status: UserCouponStatus) => ({
  userCouponId: coupon.id,
  couponId: coupon.couponId,
  userId: coupon.userId,
  name: coupon.name,
  discountType: coupon.discountType,
  discountValue: coupon.discountValue,
  status,
  issuedAt: coupon.issuedAt.toISOString(),
  expiresAt: coupon.expiresAt.toISOString(),
  usedAt: iso(coupon.usedAt),
  orderId: coupon.orderId,
});

const presentHeld = ({ coupon, status }: HeldCoupon) => presentUserCoupon(coupon, status);

export const couponRoutes: FastifyPluginAsyncZod<CouponRoutesOptions> = async (
  app,
  { runIdempotently, createCoupon, getCoupon, issueCoupon, listUserCoupons },
) => {
  const tags = ['Coupons'];

  app.get(
    '/coupons/:couponId',
    {
      config: { access: 'PUBLIC' },
      schema: { tags, params: couponIdParams, response: { 200: couponView, 404: problemSchema, ...commonErrors } },
    },
    async (request) => presentCoupon(await getCoupon.execute(request.params)),
  );

  app.post(
    '/coupons/:couponId/issue',
    {
      schema: {
        tags,
        params: couponIdParams,
        headers: idempotencyHeaders,
        body: issueBody,
        response: { 201: userCouponView, 404: problemSchema, 409: problemSchema, 422: problemSchema, ...commonErrors },
      },
    },
    async (request, reply) =>
      replyIdempotently(request, reply, { runIdempotently, status: 201 }, async () => {
        const { couponId } = request.params;
        const issued = await issueCoupon.execute({ actor: actorOf(request), couponId, userId: request.body.userId });
        return presentUserCoupon(issued, 'AVAILABLE');
      }),
  );

  app.get(
    '/users/:userId/coupons',
    {
      schema: {
        tags,
        params: userIdParams,
        querystring: listQuery,
        response: { 200: paginated(userCouponView), 404: problemSchema, ...commonErrors },
      },
    },
    async (request) => {
      const { status, ...page } = request.query;
      const held = await listUserCoupons.execute({
        actor: actorOf(request),
        userId: request.params.userId,
        status,
        page: toPageRequest(page),
      });
      return toPaginated(held, presentHeld);
    },
  );

  app.post(
    '/admin/coupons',
    {
      config: { access: 'ADMIN', audit: 'coupon.create' },
      schema: { tags: ['Administration'], body: createCouponBody, response: { 201: couponView, ...commonErrors } },
    },
    async (request, reply) => {
      const { issueStartsAt, issueEndsAt, ...rest } = request.body;
      const coupon = await createCoupon.execute({
        actor: actorOf(request),
        ...rest,
        issueStartsAt: issueStartsAt ? new Date(issueStartsAt) : null,
        issueEndsAt: issueEndsAt ? new Date(issueEndsAt) : null,
        audit: auditStampOf(request),
      });
      return reply.status(201).send(presentCoupon(coupon));
    },
  );
};
