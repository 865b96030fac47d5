import { setTimeout as sleep } from 'node:timers/promises';

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

/**
 * Exports the spans still buffered and stops the SDK, waiting at most `withinMs`: a collector that is down
 * or unknown must not hold up, or fail, a shutdown. Says whether the spans left; nothing to do with tracing off.
 */
export async function stopTracing(withinMs = 2_000): Promise<'flushed' | 'dropped' | 'off'> {
  const flush = stop;
  stop = undefined;
  if (!flush) return 'off';
  const deadline = new AbortController();
  const outcome = await Promise.race([
    flush().then(
      () => 'flushed' as const,
      () => 'dropped' as const,
    ),
    sleep(withinMs, 'dropped' as const, { signal: deadline.signal }).catch(() => 'dropped' as const),
  ]);
  deadline.abort();
  return outcome;
}
