/**
 * `npm run bench:profile -- <file.cpuprofile> [count]`: the functions a V8 CPU profile (from
 * BENCH_CPU_PROFILE) spent the most time in, by self time, with the share of the profile each took, and the
 * same summed by package or source file, so a row of the bench can be read as where its CPU went.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a frame's code lives: a package of node_modules, a file of ours, or V8/Node itself. */
function placeOf(url: string): string {
  if (url === '') return '(native / V8)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/((?:src|migrations)\/.*)$/.exec(url);
  return ours ? ours[1]! : url;
}

function top(totals: Map<string, number>, all: number, count: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, us]) =>
        `${((us / all) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
    );
}

const [file, countText = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: npm run bench:profile -- <file.cpuprofile> [count]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let all = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') {
    idle += us;
    continue;
  }
  all += us;
  const name = `${functionName || '(anonymous)'}  ${placeOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byPlace.set(placeOf(url), (byPlace.get(placeOf(url)) ?? 0) + us);
}

const count = Number(countText);
console.log(
  `${(all / 1000).toFixed(0)} ms on the CPU, ${(idle / 1000).toFixed(0)} ms idle; shares are of the CPU time`,
);
console.log(`\nby function (self time), top ${count}:`);
console.log(top(byFunction, all, count).join('\n'));
console.log(`\nby package or file, top ${count}:`);
console.log(top(byPlace, all, count).join('\n'));
