import { InMemoryStore } from '../../src/adapters/memory/in-memory-store.js';
import { ManualClock } from '../../src/adapters/memory/manual-clock.js';
import { appDependencies, createContainer } from '../../src/container.js';

/** The use cases from the composition root on in-memory adapters and a manual clock, as a unit test needs them. */
export function inMemoryShop(start?: string) {
  const store = new InMemoryStore();
  const clock = new ManualClock(start);
  const container = createContainer({ repositories: { kind: 'IN_MEMORY', store }, clock, timeZone: 'Asia/Seoul' });
  return { store, clock, ...appDependencies(container) };
}
