import { couponStorm } from './coupon-storm.js';
import { orderHot, orderSpread } from './orders.js';
import type { Scenario } from './scenario.js';

/** Every scenario, in the order `npm run bench` runs them. */
export const scenarios: Scenario[] = [couponStorm, orderSpread, orderHot];
