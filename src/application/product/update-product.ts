import type { Product } from '../../domain/product/product.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import { InvalidInputError } from '../../domain/shared/domain-error.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

/** An update must change something: a price, a stock delta or both. */
export const NOTHING_TO_UPDATE = 'give price, stockDelta or both';

export function changesSomething({ price, stockDelta }: Pick<UpdateProductInput, 'price' | 'stockDelta'>): boolean {
  return price !== undefined || stockDelta !== undefined;
}

export interface UpdateProductInput {
  readonly actor: Actor;
  readonly productId: number;
  readonly price?: number | undefined;
  /** Restock (+) or correction (−). */
  readonly stockDelta?: number | undefined;
}

export class UpdateProduct {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** Under the product's row lock, so concurrent corrections can never take stock below zero. */
  async execute({ actor, productId, price, stockDelta }: UpdateProductInput): Promise<Product> {
    assertAdmin(actor);
    if (!changesSomething({ price, stockDelta })) throw new InvalidInputError('', NOTHING_TO_UPDATE);
    const at = this.clock.now();
    return this.uow.run(async (repos) => {
      const current = await repos.products.getByIdForUpdate(productId);
      if (!current) throw new ProductNotFoundError(productId);
      let product = price === undefined ? current : current.withPrice(price);
      if (stockDelta !== undefined && stockDelta !== 0) {
        product = product.adjustStock(stockDelta);
        await repos.products.recordAdjustment({ productId, delta: stockDelta, reason: 'ADJUSTMENT', at });
      }
      await repos.products.save(product, at);
      return product;
    });
  }
}
