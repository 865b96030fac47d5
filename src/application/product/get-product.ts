import type { Product } from '../../domain/product/product.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import type { ProductQueries } from '../ports/product-repository.js';

export class GetProduct {
  constructor(private readonly products: ProductQueries) {}

  async execute({ productId }: { productId: number }): Promise<Product> {
    const product = await this.products.findById(productId);
    if (!product) throw new ProductNotFoundError(productId);
    return product;
  }
}
