import { describe, expect, it } from 'vitest';
import { MAX_STOCK, Product } from '../../../src/domain/product/product.js';
import { InsufficientStockError, StockLimitExceededError } from '../../../src/domain/product/product-errors.js';
import { InvalidInputError } from '../../../src/domain/shared/domain-error.js';

describe('Product', () => {
  const mug = new Product({ id: 3, name: 'Mug', price: 12_000, stock: 5 });

  it('validates a draft and trims its name', () => {
    expect(Product.draft({ name: '  Mug ', price: 1, stock: 0 })).toEqual({ name: 'Mug', price: 1, stock: 0 });
  });

  it.each([
    [{ name: '', price: 1, stock: 0 }, 'name'],
    [{ name: 'x'.repeat(201), price: 1, stock: 0 }, 'name'],
    [{ name: 'Mug', price: 0, stock: 0 }, 'price'],
    [{ name: 'Mug', price: 100_000_001, stock: 0 }, 'price'],
    [{ name: 'Mug', price: 1.5, stock: 0 }, 'price'],
    [{ name: 'Mug', price: 1, stock: -1 }, 'stock'],
    [{ name: 'Mug', price: 1, stock: MAX_STOCK + 1 }, 'stock'],
  ])('rejects the draft %j, naming %s', (draft, field) => {
    expect(() => Product.draft(draft)).toThrow(expect.objectContaining({ field }));
  });

  it('restocks and corrects down to exactly zero', () => {
    expect(mug.adjustStock(10).stock).toBe(15);
    expect(mug.adjustStock(-5).stock).toBe(0);
  });

  it('refuses a correction below zero with the numbers', () => {
    expect(() => mug.adjustStock(-6)).toThrow(InsufficientStockError);
    expect(() => mug.adjustStock(-6)).toThrow(
      expect.objectContaining({ facts: { productId: 3, requested: 6, available: 5 } }),
    );
  });

  it('refuses a restock past the stock ceiling', () => {
    expect(() => mug.adjustStock(MAX_STOCK)).toThrow(StockLimitExceededError);
  });

  it('takes units for an order but never more than there are', () => {
    expect(mug.take(5).stock).toBe(0);
    expect(() => mug.take(6)).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_STOCK', facts: { productId: 3, requested: 6, available: 5 } }),
    );
    expect(() => mug.take(0)).toThrow(InvalidInputError);
  });

  it('changes price without touching stock', () => {
    expect(mug.withPrice(9_900)).toEqual(new Product({ id: 3, name: 'Mug', price: 9_900, stock: 5 }));
    expect(() => mug.withPrice(0)).toThrow(InvalidInputError);
  });
});
