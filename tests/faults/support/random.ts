/** A small seeded generator (mulberry32), so a failing run can be replayed with FAULTS_SEED. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FAULTS_SEED when given, else a fresh one; printed in every summary. */
export function runSeed(): number {
  const given = Number.parseInt(process.env.FAULTS_SEED ?? '', 10);
  return Number.isInteger(given) ? given : Math.floor(Math.random() * 2 ** 31);
}

export const between = (random: () => number, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

export function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}
