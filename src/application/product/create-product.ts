import { type AuditStamp, created } from '../../domain/audit/audit-entry.js';
import { Product, type ProductDraft } from '../../domain/product/product.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import { auditHeader } from '../shared/audit.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateProductInput extends ProductDraft {
  readonly actor: Actor;
  /** The request it comes from: its audit entry is written with the product. */
  readonly audit: AuditStamp;
}

export class CreateProduct {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** The product, its audit entry and its initial stock as an adjustment naming that entry, in one transaction. */
  async execute({ actor, audit, ...input }: CreateProductInput): Promise<Product> {
    assertAdmin(actor);
    const header = auditHeader('product.create', actor, audit);
    const draft = Product.draft(input);
    const at = this.clock.now();
    return this.uow.run(async (repos) => {
      const product = await repos.products.add(draft, at);
      const { id: productId, name, price, stock } = product;
      const auditEntryId = await repos.auditLog.append({
        ...header,
        target: { type: 'product', id: productId },
        ...created({ name, price, stock }),
      });
      await repos.products.recordAdjustment({ productId, delta: stock, reason: 'INITIAL', at, auditEntryId });
      return product;
    });
  }
}
