import { cancel } from './cancel.js';
import { chargeOneUser } from './charge-one-user.js';
import { couponStorm } from './coupon-storm.js';
import { login } from './login.js';
import { orderHot, orderSpread } from './orders.js';
import { popularScenario } from './popular.js';
import type { Scenario } from './scenario.js';
import { tokenCost } from './token-cost.js';

export const popular = popularScenario();

/**
 * Every scenario, in the order `npm run bench` runs them. `cancel` comes after `popular`, whose check counts
 * the units sold from the order lines alone, so cancelled units of today would make its top 5 differ.
 */
export const scenarios: Scenario[] = [
  chargeOneUser,
  couponStorm,
  orderSpread,
  orderHot,
  popular,
  cancel,
  login,
  tokenCost,
];
