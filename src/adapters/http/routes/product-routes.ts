import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreateProduct } from '../../../application/product/create-product.js';
import type { GetPopularProducts } from '../../../application/statistics/get-popular-products.js';
import type { PopularProducts } from '../../../domain/statistics/popular-products.js';
import type { GetProduct } from '../../../application/product/get-product.js';
import type { ListProducts } from '../../../application/product/list-products.js';
import {
  NOTHING_TO_UPDATE,
  type UpdateProduct,
  changesSomething,
} from '../../../application/product/update-product.js';
import { MAX_PRICE, MAX_STOCK, PRODUCT_NAME_MAX_LENGTH, type Product } from '../../../domain/product/product.js';
import { auditStampOf } from '../audit.js';
import { actorOf } from '../auth.js';
import {
  commonErrors,
  idParam,
  nameText,
  pageQuery,
  paginated,
  problemSchema,
  timestamp,
  toPageRequest,
  toPaginated,
} from '../schemas.js';

export interface ProductRoutesOptions {
  getPopularProducts: GetPopularProducts;
  createProduct: CreateProduct;
  updateProduct: UpdateProduct;
  getProduct: GetProduct;
  listProducts: ListProducts;
}

const productIdParams = z.object({ productId: idParam });
export const productView = z.object({
  id: z.number().int(),
  name: z.string(),
  price: z.number().int(),
  stock: z.number().int(),
});
const priceValue = z.number().int().min(1).max(MAX_PRICE);
const createProductBody = z.strictObject({
  name: nameText(PRODUCT_NAME_MAX_LENGTH),
  price: priceValue,
  stock: z.number().int().min(0).max(MAX_STOCK),
});
const updateProductBody = z
  .strictObject({
    price: priceValue.optional(),
    stockDelta: z.number().int().min(-MAX_STOCK).max(MAX_STOCK).optional().describe('Restock (+) or correction (−)'),
  })
  .refine(changesSomething, NOTHING_TO_UPDATE);

const presentProduct = ({ id, name, price, stock }: Product) => ({ id, name, price, stock });

const popularView = z.object({
  from: timestamp.describe('00:00 shop time, two days ago (inclusive)'),
  to: timestamp.describe('00:00 shop time, tomorrow (exclusive)'),
  items: z.array(
    z.object({
      rank: z.number().int(),
      productId: z.number().int(),
      name: z.string(),
      price: z.number().int(),
      stock: z.number().int(),
      soldQuantity: z.number().int(),
    }),
  ),
});

const presentPopular = ({ window, items }: PopularProducts) => ({
  from: window.from.toISOString(),
  to: window.to.toISOString(),
  items: items.map(({ rank, product, soldQuantity }) => ({
    rank,
    productId: product.id,
    name: product.name,
    price: product.price,
    stock: product.stock,
    soldQuantity,
  })),
});

export const productRoutes: FastifyPluginAsyncZod<ProductRoutesOptions> = async (
  app,
  { getPopularProducts, createProduct, updateProduct, getProduct, listProducts },
) => {
  app.get(
    '/products/popular',
    {
      config: { access: 'PUBLIC' },
      schema: {
        tags: ['Products'],
        description:
          'The 5 best sellers by units over today and the two days before it in SHOP_TIMEZONE; may lag by up to 5 s.',
        response: { 200: popularView, ...commonErrors },
      },
    },
    async () => presentPopular(await getPopularProducts.execute()),
  );

  app.get(
    '/products',
    {
      config: { access: 'PUBLIC' },
      schema: {
        tags: ['Products'],
        querystring: pageQuery,
        response: { 200: paginated(productView), ...commonErrors },
      },
    },
    async (request) => toPaginated(await listProducts.execute({ page: toPageRequest(request.query) }), presentProduct),
  );

  app.get(
    '/products/:productId',
    {
      config: { access: 'PUBLIC' },
      schema: {
        tags: ['Products'],
        params: productIdParams,
        response: { 200: productView, 404: problemSchema, ...commonErrors },
      },
    },
    async (request) => presentProduct(await getProduct.execute(request.params)),
  );

  app.post(
    '/admin/products',
    {
      config: { access: 'ADMIN', audit: 'product.create' },
      schema: { tags: ['Administration'], body: createProductBody, response: { 201: productView, ...commonErrors } },
    },
    async (request, reply) => {
      const product = await createProduct.execute({
        actor: actorOf(request),
        ...request.body,
        audit: auditStampOf(request),
      });
      return reply.status(201).send(presentProduct(product));
    },
  );

  app.patch(
    '/admin/products/:productId',
    {
      config: { access: 'ADMIN', audit: 'product.update' },
      schema: {
        tags: ['Administration'],
        params: productIdParams,
        body: updateProductBody,
        response: { 200: productView, 404: problemSchema, 409: problemSchema, ...commonErrors },
      },
    },
    async (request) =>
      presentProduct(
        await updateProduct.execute({
          actor: actorOf(request),
          productId: request.params.productId,
          ...request.body,
          audit: auditStampOf(request),
        }),
      ),
  );
};
