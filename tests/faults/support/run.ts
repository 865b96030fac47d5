import { expect } from 'vitest';
import type { Db } from '../../../src/adapters/postgres/database.js';
import { type ServiceSchema, createServiceSchema } from '../../support/service-schema.js';
import {
  type DeliveryCheck,
  FAST_DELIVERY_ENV,
  cleanUp,
  deliveryLine,
  invariants,
  toldVersusStored,
  waitForDeliveries,
} from './harness.js';
import { LoadDriver, setupShop } from './load.js';
import { seededRandom } from './random.js';
import { FaultReceiver } from './receiver.js';
import { ServiceInstance } from './service.js';

/** One service under load: its own schema, a receiver that answers at once, the shop set up, 8 clients. */
export interface LoadedService {
  readonly schema: ServiceSchema;
  readonly receiver: FaultReceiver;
  readonly service: ServiceInstance;
  readonly load: LoadDriver;
  /** Stops the load, the service and the receiver and drops the schema, whatever fails on the way. */
  stop(): Promise<void>;
}

/**
 * Starts a fault run on a schema named after `prefix` of the server at `baseUrl`; `env` over the service's
 * defaults (FAST_DELIVERY_ENV unless given). What was started is stopped again if a later step fails.
 */
export async function startLoadedService(
  baseUrl: string,
  prefix: string,
  { seed, random = seededRandom(seed), env = FAST_DELIVERY_ENV }: { seed: number; random?: () => number; env?: object },
): Promise<LoadedService> {
  const schema = await createServiceSchema(baseUrl, prefix);
  const receiver = await new FaultReceiver(random).start();
  receiver.mode = { kind: 'ok', minMs: 0, maxMs: 20 };
  const service = new ServiceInstance('service', {
    DATABASE_URL: schema.serviceUrl,
    DATA_PLATFORM_URL: receiver.url,
    ...env,
  });
  let load: LoadDriver | undefined;
  const stop = () =>
    cleanUp([async () => load?.stop(), () => service.stop(), () => receiver.stop(), () => schema.drop()]);
  try {
    await service.start();
    load = new LoadDriver(await setupShop(service.origin), [service], { seed, clients: 8 }).start();
    return { schema, receiver, service, load, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** What a fault run left: its deliveries, what clients were told against what is stored, the invariants. */
export interface Settled {
  readonly deliveries: DeliveryCheck;
  readonly told: string[];
  readonly checked: Awaited<ReturnType<typeof invariants>>;
}

/** Waits up to `timeoutMs` for every event to be delivered, then reads what the run left. */
export async function settle(db: Db, receiver: FaultReceiver, load: LoadDriver, timeoutMs: number): Promise<Settled> {
  const deliveries = await waitForDeliveries(db, receiver, timeoutMs);
  return { deliveries, told: await toldVersusStored(db, load), checked: await invariants(db) };
}

/** The summary's lines on what the run left. */
export function settledLines({ deliveries, told, checked }: Settled): Record<string, string> {
  return {
    delivered: deliveryLine(deliveries),
    'told vs stored': told.length === 0 ? 'agree' : told.join('; '),
    invariants: checked.line,
  };
}

/**
 * What every fault run promises whatever the fault: cancellations were made through it and each reached the
 * data platform (one event per stored one), every event was delivered as stored, what a client was told is
 * what is stored, and every invariant holds.
 */
export function expectPromisesKept({ deliveries, told, checked }: Settled, load: LoadDriver): void {
  expect(load.cancelled).toBeGreaterThan(5);
  expect(deliveries.cancellationEvents).toBeGreaterThanOrEqual(load.cancelled);
  expect(deliveries.missingExamples).toEqual([]);
  expect(deliveries.problems).toEqual([]);
  expect(told).toEqual([]);
  expect(checked.broken).toEqual([]);
}
