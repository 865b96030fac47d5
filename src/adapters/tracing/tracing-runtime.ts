/**
 * Whether the SDK was started for this process, and how to flush it. Kept apart from the SDK's own module so
 * that main.ts can ask without loading the SDK.
 */
let stop: (() => Promise<void>) | undefined;

export function tracingStarted(flush: () => Promise<void>): void {
  stop = flush;
}

export function isTracing(): boolean {
  return stop !== undefined;
}

/** Exports the spans still buffered and stops the SDK; nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const flush = stop;
  stop = undefined;
  await flush?.();
}
