import { type AuditStamp, changed } from '../../domain/audit/audit-entry.js';
import type { Product } from '../../domain/product/product.js';
import { ProductNotFoundError } from '../../domain/product/product-errors.js';
import { InvalidInputError } from '../../domain/shared/domain-error.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import { auditHeader } from '../shared/audit.js';
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
  /** The request it comes from: its audit entry is written with the change. */
  readonly audit: AuditStamp;
}

export class UpdateProduct {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /**
   * Under the product's row lock, so concurrent corrections can never take stock below zero. The audit entry
   * holds the fields that changed; a stock change's adjustment names it.
   */
  async execute({ actor, productId, price, stockDelta, audit }: UpdateProductInput): Promise<Product> {
    assertAdmin(actor);
    if (!changesSomething({ price, stockDelta })) throw new InvalidInputError('', NOTHING_TO_UPDATE);
    const header = auditHeader('product.update', actor, audit);
    const at = this.clock.now();
    return this.uow.run(async (repos) => {
      const current = await repos.products.getByIdForUpdate(productId);
      if (!current) throw new ProductNotFoundError(productId);
      let product = price === undefined ? current : current.withPrice(price);
      const delta = stockDelta === 0 ? undefined : stockDelta;
      if (delta !== undefined) product = product.adjustStock(delta);
      const auditEntryId = await repos.auditLog.append({
        ...header,
        target: { type: 'product', id: productId },
        ...changed({ price: current.price, stock: current.stock }, { price: product.price, stock: product.stock }),
      });
      if (delta !== undefined)
        await repos.products.recordAdjustment({ productId, delta, reason: 'ADJUSTMENT', at, auditEntryId });
      await repos.products.save(product, at);
      return product;
    });
  }
}
