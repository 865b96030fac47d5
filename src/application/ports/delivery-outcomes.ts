/** What one delivery attempt came to, once it is recorded. */
export const DELIVERY_OUTCOMES = ['DELIVERED', 'RETRY_SCHEDULED', 'PARKED'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Told each recorded outcome (the operations metrics count them). Must not throw. */
export interface DeliveryOutcomes {
  record(outcome: DeliveryOutcome): void;
}
