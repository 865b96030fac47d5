import type {
  AdminStockAdjustment,
  ProductQueries,
  ProductRepository,
} from '../../application/ports/product-repository.js';
import { type Page, type PageRequest, pageFrom } from '../../application/shared/pagination.js';
import { Product, type ProductDraft, type ProductProps } from '../../domain/product/product.js';
import type { InMemoryStore } from './in-memory-store.js';

const toProduct = (props: ProductProps) => new Product(props);

export class InMemoryProductRepository implements ProductRepository, ProductQueries {
  constructor(private readonly store: InMemoryStore) {}

  async add(draft: ProductDraft): Promise<Product> {
    const record = { id: this.store.nextId('products'), ...draft };
    this.store.state.products.set(record.id, record);
    return toProduct(record);
  }

  async getByIdForUpdate(productId: number): Promise<Product | undefined> {
    return this.findById(productId);
  }

  async findById(productId: number): Promise<Product | undefined> {
    const record = this.store.state.products.get(productId);
    return record && toProduct(record);
  }

  async save(product: Product): Promise<void> {
    this.store.state.products.set(product.id, { ...product });
  }

  async recordAdjustment(adjustment: AdminStockAdjustment): Promise<void> {
    this.store.state.stockAdjustments.push(adjustment);
  }

  async list({ limit, after }: PageRequest): Promise<Page<Product>> {
    const rows = [...this.store.state.products.values()]
      .filter((record) => after === undefined || record.id > after)
      .sort((a, b) => a.id - b.id)
      .slice(0, limit + 1)
      .map(toProduct);
    return pageFrom(rows, limit, (product) => product.id);
  }
}
