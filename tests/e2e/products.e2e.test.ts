import { describe, expect, it } from 'vitest';
import { type Page, type ProductView, aProduct, productBody } from '../support/builders.js';
import { BAD_CURSORS, BAD_LIMITS, bearer, expectProblem, useTestApp } from '../support/test-app.js';

const t = useTestApp();

type ProductPage = Page<ProductView>;

// Reading products is public; changing them is the administrator's.
const createProduct = (payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/products',
    headers: bearer(t.adminToken),
    payload: payload as object,
  });
const getProduct = (productId: number | string) =>
  t.app.inject({ method: 'GET', url: `/api/v1/products/${productId}` });
const listProducts = (query = '') => t.app.inject({ method: 'GET', url: `/api/v1/products${query}` });
const patchProduct = (productId: number | string, payload: unknown) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/v1/admin/products/${productId}`,
    headers: bearer(t.adminToken),
    payload: payload as object,
  });

/** Walks every page from the start with the given limit; returns the ids in the order seen. */
async function walkAllPages(limit: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=${limit}&cursor=${cursor}` : `?limit=${limit}`;
    const page = await listProducts(query);
    expect(page.statusCode).toBe(200);
    const body = page.json<ProductPage>();
    expect(body.items.length).toBeLessThanOrEqual(limit);
    if (body.nextCursor !== null) expect(body.items).toHaveLength(limit);
    seen.push(...body.items.map((item) => item.id));
    cursor = body.nextCursor;
  } while (cursor);
  return seen;
}

const missing = 987_654_321;

describe('products over HTTP', () => {
  it('creates a product and answers it by id', async () => {
    const created = await createProduct(productBody({ name: 'Pen', price: 1_500, stock: 30 }));
    expect(created.statusCode).toBe(201);
    const product = created.json<ProductView>();
    expect(product).toEqual({ id: expect.any(Number), name: 'Pen', price: 1_500, stock: 30 });
    expect(Number.isSafeInteger(product.id) && product.id > 0).toBe(true);

    const fetched = await getProduct(product.id);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toEqual(product);
  });

  it.each([
    ['the shortest name, lowest price and no stock', { name: 'x', price: 1, stock: 0 }],
    [
      'the longest name, highest price and most stock',
      { name: 'y'.repeat(200), price: 100_000_000, stock: 1_000_000_000 },
    ],
    [
      'a name of 200 characters outside the basic plane (400 UTF-16 units)',
      { name: '😀'.repeat(200), price: 1, stock: 0 },
    ],
  ])('accepts %s', async (_label, payload) => {
    const created = await createProduct(productBody(payload));
    expect(created.statusCode).toBe(201);
    const product = created.json<ProductView>();
    expect(product).toEqual({ id: expect.any(Number), ...payload });
    expect((await getProduct(product.id)).json()).toEqual(product);
  });

  it('answers 404 PRODUCT_NOT_FOUND for a well-formed id that does not exist', async () => {
    const body = expectProblem(await getProduct(missing), 404, 'PRODUCT_NOT_FOUND');
    expect(body).toMatchObject({ productId: missing });
    expectProblem(await getProduct('9007199254740991'), 404, 'PRODUCT_NOT_FOUND');
  });
});

describe('the product list', () => {
  it('pages by id ascending, visiting every product exactly once', async () => {
    const created: number[] = [];
    for (let i = 1; i <= 7; i++) created.push((await aProduct(t.api, { name: `Paged ${i}` })).id);

    for (const limit of [1, 3, 100]) {
      const seen = await walkAllPages(limit);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.filter((id) => created.includes(id))).toEqual(created);
    }
  });

  it('answers each item as { id, name, price, stock }, the same as by id', async () => {
    const product = await aProduct(t.api, { name: 'Listed', price: 2_500, stock: 4 });
    const seen: ProductView[] = [];
    let cursor: string | null = null;
    do {
      const page = await listProducts(cursor ? `?limit=100&cursor=${cursor}` : '?limit=100');
      const body = page.json<ProductPage>();
      seen.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.find((item) => item.id === product.id)).toEqual(product);
  });

  it('answers 20 items by default, with a cursor to the rest', async () => {
    for (let i = 0; i < 21; i++) await aProduct(t.api, { name: `Default page ${i}` });
    const page = await listProducts();
    expect(page.statusCode).toBe(200);
    const body = page.json<ProductPage>();
    expect(body.items).toHaveLength(20);
    expect(body.nextCursor).toEqual(expect.any(String));

    const next = await listProducts(`?cursor=${body.nextCursor}`);
    expect(next.statusCode).toBe(200);
    const rest = next.json<ProductPage>();
    expect(rest.items.length).toBeGreaterThan(0);
    expect(rest.items[0]!.id).toBeGreaterThan(body.items.at(-1)!.id);
  });

  it('answers nextCursor null on the last page', async () => {
    await aProduct(t.api);
    const page = await listProducts('?limit=100');
    expect(page.statusCode).toBe(200);
    const body = page.json<ProductPage>();
    expect(body.items.length).toBeLessThan(100);
    expect(body.nextCursor).toBeNull();
  });

  it.each(BAD_LIMITS)('answers 400 for limit=%s', async (limit) => {
    const body = expectProblem(await listProducts(`?limit=${limit}`), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual([{ path: 'limit', message: expect.any(String) }]);
  });

  it.each(BAD_CURSORS)('answers 400 for a cursor that is %s', async (_label, cursor) => {
    const body = expectProblem(await listProducts(`?cursor=${cursor}`), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual([{ path: 'cursor', message: expect.any(String) }]);
  });
});

describe('updating a product', () => {
  it('changes the price only', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 5 });
    const response = await patchProduct(product.id, { price: 1_200 });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ...product, price: 1_200 });
    expect((await getProduct(product.id)).json()).toEqual({ ...product, price: 1_200 });
  });

  it('restocks and corrects with stockDelta only', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 5 });
    const restocked = await patchProduct(product.id, { stockDelta: 7 });
    expect(restocked.statusCode).toBe(200);
    expect(restocked.json()).toEqual({ ...product, stock: 12 });

    const corrected = await patchProduct(product.id, { stockDelta: -12 });
    expect(corrected.statusCode).toBe(200);
    expect(corrected.json()).toEqual({ ...product, stock: 0 });
    expect((await getProduct(product.id)).json()).toEqual({ ...product, stock: 0 });
  });

  it('changes price and stock together', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 5 });
    const response = await patchProduct(product.id, { price: 900, stockDelta: -2 });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ...product, price: 900, stock: 3 });
    expect((await getProduct(product.id)).json()).toEqual({ ...product, price: 900, stock: 3 });
  });

  it('answers 409 INSUFFICIENT_STOCK for a delta that would take stock below 0, and changes nothing', async () => {
    const product = await aProduct(t.api, { price: 1_000, stock: 3 });
    const body = expectProblem(await patchProduct(product.id, { stockDelta: -4 }), 409, 'INSUFFICIENT_STOCK');
    expect(body).toMatchObject({ productId: product.id, requested: 4, available: 3 });
    expect((await getProduct(product.id)).json()).toEqual(product);

    // With a price as well, the price is not changed either: the request fails as a whole.
    expectProblem(await patchProduct(product.id, { price: 5_000, stockDelta: -4 }), 409, 'INSUFFICIENT_STOCK');
    expect((await getProduct(product.id)).json()).toEqual(product);
  });

  it('answers 404 PRODUCT_NOT_FOUND for a product that does not exist', async () => {
    const body = expectProblem(await patchProduct(missing, { stockDelta: 1 }), 404, 'PRODUCT_NOT_FOUND');
    expect(body).toMatchObject({ productId: missing });
    expectProblem(await patchProduct(missing, { price: 100 }), 404, 'PRODUCT_NOT_FOUND');
  });

  it.each([
    ['empty', {}, ''],
    ['a fractional stockDelta', { stockDelta: 1.5 }, 'stockDelta'],
    ['a string stockDelta', { stockDelta: '1' }, 'stockDelta'],
    ['a null stockDelta', { stockDelta: null }, 'stockDelta'],
    ['a zero price', { price: 0 }, 'price'],
    ['a price over the limit', { price: 100_000_001 }, 'price'],
    ['a fractional price', { price: 10.5 }, 'price'],
    ['with an unknown field', { price: 100, stock: 5 }, 'stock'],
  ])('answers 400 for a body that is %s and changes nothing', async (_label, payload, path) => {
    const product = await aProduct(t.api);
    const body = expectProblem(await patchProduct(product.id, payload), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect((await getProduct(product.id)).json()).toEqual(product);
  });

  it('serialises concurrent corrections: 20 × −1 on a stock of 10 leaves exactly 10 successes and stock 0', async () => {
    const product = await aProduct(t.api, { stock: 10 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => patchProduct(product.id, { stockDelta: -1 })));

    const ok = responses.filter((response) => response.statusCode === 200);
    const refused = responses.filter((response) => response.statusCode === 409);
    expect({ ok: ok.length, refused: refused.length }).toEqual({ ok: 10, refused: 10 });
    expect(ok.map((response) => response.json<ProductView>().stock).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    for (const response of refused) {
      expect(expectProblem(response, 409, 'INSUFFICIENT_STOCK')).toMatchObject({
        productId: product.id,
        requested: 1,
        available: 0,
      });
    }
    expect((await getProduct(product.id)).json()).toEqual({ ...product, stock: 0 });
  });
});

describe('bad input on the product routes', () => {
  it.each(['abc', '0', '-1', '1.5', '01', '9007199254740992', '99999999999999999999', '1e3'])(
    'answers 400 for the path id %s',
    async (id) => {
      for (const response of [await getProduct(id), await patchProduct(id, { stockDelta: 1 })]) {
        const body = expectProblem(response, 400, 'INVALID_REQUEST');
        expect(body.errors).toEqual([{ path: 'productId', message: expect.any(String) }]);
      }
    },
  );

  it.each([
    ['an empty name', { name: '', price: 1_000, stock: 1 }, 'name'],
    ['a blank name', { name: '   ', price: 1_000, stock: 1 }, 'name'],
    ['a name of 201 characters', { name: 'x'.repeat(201), price: 1_000, stock: 1 }, 'name'],
    ['a name with a NUL character', { name: 'a\u0000b', price: 1_000, stock: 1 }, 'name'],
    ['a name with a line feed', { name: 'a\nb', price: 1_000, stock: 1 }, 'name'],
    ['a name that is not a string', { name: 42, price: 1_000, stock: 1 }, 'name'],
    ['a zero price', { name: 'Pen', price: 0, stock: 1 }, 'price'],
    ['a price over 100,000,000', { name: 'Pen', price: 100_000_001, stock: 1 }, 'price'],
    ['a fractional price', { name: 'Pen', price: 1.5, stock: 1 }, 'price'],
    ['a string price', { name: 'Pen', price: '1000', stock: 1 }, 'price'],
    ['a negative stock', { name: 'Pen', price: 1_000, stock: -1 }, 'stock'],
    ['a stock over 1,000,000,000', { name: 'Pen', price: 1_000, stock: 1_000_000_001 }, 'stock'],
    ['a fractional stock', { name: 'Pen', price: 1_000, stock: 0.5 }, 'stock'],
    ['a missing name', { price: 1_000, stock: 1 }, 'name'],
    ['a missing price', { name: 'Pen', stock: 1 }, 'price'],
    ['a missing stock', { name: 'Pen', price: 1_000 }, 'stock'],
    ['an unknown field', { name: 'Pen', price: 1_000, stock: 1, color: 'red' }, 'color'],
    ['an array', [{ name: 'Pen', price: 1_000, stock: 1 }], ''],
  ])('answers 400 for a new product with %s, and creates nothing', async (_label, payload, path) => {
    const before = await walkAllPages(100);
    const body = expectProblem(await createProduct(payload), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect(await walkAllPages(100)).toEqual(before);
  });

  it('names every missing field of an empty body', async () => {
    const body = expectProblem(await createProduct({}), 400, 'INVALID_REQUEST');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { path: 'name', message: expect.any(String) },
        { path: 'price', message: expect.any(String) },
        { path: 'stock', message: expect.any(String) },
      ]),
    );
  });
});
