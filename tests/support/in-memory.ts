import { ChargeBalance } from '../../src/application/balance/charge-balance.js';
import { GetBalance } from '../../src/application/balance/get-balance.js';
import { GetBalanceHistory } from '../../src/application/balance/get-balance-history.js';
import { CreateCoupon } from '../../src/application/coupon/create-coupon.js';
import { GetCoupon } from '../../src/application/coupon/get-coupon.js';
import { IssueCoupon } from '../../src/application/coupon/issue-coupon.js';
import { ListUserCoupons } from '../../src/application/coupon/list-user-coupons.js';
import { SoldOutCoupons } from '../../src/application/coupon/sold-out-coupons.js';
import { CreateProduct } from '../../src/application/product/create-product.js';
import { GetProduct } from '../../src/application/product/get-product.js';
import { ListProducts } from '../../src/application/product/list-products.js';
import { UpdateProduct } from '../../src/application/product/update-product.js';
import { CreateUser } from '../../src/application/user/create-user.js';
import { RunIdempotently } from '../../src/application/idempotency/run-idempotently.js';
import { GetOrder } from '../../src/application/order/get-order.js';
import { ListUserOrders } from '../../src/application/order/list-user-orders.js';
import { PlaceOrder } from '../../src/application/order/place-order.js';
import { GetPopularProducts } from '../../src/application/statistics/get-popular-products.js';
import { InMemorySales } from '../../src/adapters/memory/in-memory-sales.js';
import { InMemoryOrderRepository } from '../../src/adapters/memory/in-memory-order-repository.js';
import { InMemoryCouponRepository } from '../../src/adapters/memory/in-memory-coupon-repository.js';
import { InMemoryProductRepository } from '../../src/adapters/memory/in-memory-product-repository.js';
import { InMemoryUserRepository } from '../../src/adapters/memory/in-memory-user-repository.js';
import { InMemoryBalanceRepository } from '../../src/adapters/memory/in-memory-balance-repository.js';
import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { InMemoryUnitOfWork } from '../../src/adapters/memory/in-memory-unit-of-work.js';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';

/** The use cases wired to in-memory adapters and a manual clock, as a unit test needs them. */
export function inMemoryShop(start?: string) {
  const store = new InMemoryStore();
  const clock = new ManualClock(start);
  const uow = new InMemoryUnitOfWork(store);
  const balances = new InMemoryBalanceRepository(store);
  const products = new InMemoryProductRepository(store);
  const coupons = new InMemoryCouponRepository(store);
  const soldOut = new SoldOutCoupons(clock);
  const users = new InMemoryUserRepository(store);
  const orders = new InMemoryOrderRepository(store);
  return {
    store,
    clock,
    soldOut,
    createUser: new CreateUser(uow, clock),
    chargeBalance: new ChargeBalance(uow, clock),
    getBalance: new GetBalance(balances),
    getBalanceHistory: new GetBalanceHistory(balances),
    createProduct: new CreateProduct(uow, clock),
    updateProduct: new UpdateProduct(uow, clock),
    getProduct: new GetProduct(products),
    listProducts: new ListProducts(products),
    createCoupon: new CreateCoupon(uow, clock),
    getCoupon: new GetCoupon(coupons),
    issueCoupon: new IssueCoupon(coupons, users, coupons, clock, soldOut),
    listUserCoupons: new ListUserCoupons(users, coupons, clock),
    placeOrder: new PlaceOrder(uow, clock, 'Asia/Seoul'),
    getPopularProducts: new GetPopularProducts(new InMemorySales(store), clock, 'Asia/Seoul'),
    getOrder: new GetOrder(orders),
    listUserOrders: new ListUserOrders(users, orders),
    runIdempotently: new RunIdempotently(uow, clock),
  };
}
