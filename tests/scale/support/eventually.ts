import { setTimeout as sleep } from 'node:timers/promises';

/** Whether `check` comes to hold within `withinMs`, asked again and again until it does. */
export async function eventually(withinMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}
