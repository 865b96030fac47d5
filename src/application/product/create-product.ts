import { Product, type ProductDraft } from '../../domain/product/product.js';
import { type Actor, assertAdmin } from '../shared/actor.js';
import type { Clock } from '../ports/clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

export interface CreateProductInput extends ProductDraft {
  readonly actor: Actor;
}

export class CreateProduct {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, ...input }: CreateProductInput): Promise<Product> {
    assertAdmin(actor);
    const draft = Product.draft(input);
    return this.uow.run((repos) => repos.products.add(draft, this.clock.now()));
  }
}
