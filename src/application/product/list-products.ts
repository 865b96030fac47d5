import type { Product } from '../../domain/product/product.js';
import type { Page, PageRequest } from '../shared/pagination.js';
import type { ProductQueries } from '../ports/product-repository.js';

export class ListProducts {
  constructor(private readonly products: ProductQueries) {}

  async execute({ page }: { page: PageRequest }): Promise<Page<Product>> {
    return this.products.list(page);
  }
}
