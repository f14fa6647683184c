// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, heaviest first, and the share
// of idle, GC and native time; with --inclusive, also the time spent in each function and everything it called.
//
//   node dist/bench/profile-summary.js FILE.cpuprofile [top N] [--from-s S] [--to-s S] [--inclusive]
//
// --from-s / --to-s keep only the samples taken that many seconds after the profile started (e.g. the lighthouse's
// steady phase after the handshake burst of bench/lh-load.ts).
//
// To profile the daemons under load: node dist/bench/throughput.js --rounds 1 --only prof \
//   --variant 'prof:NODE_ARGS=--cpu-prof --cpu-prof-dir=/tmp/mesh-prof'

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'from-s': { type: 'string', default: '0' },
    'to-s': { type: 'string', default: 'Infinity' },
    inclusive: { type: 'boolean', default: false },
  },
});
const [file, topText] = positionals;
if (!file) {
  console.error('usage: profile-summary FILE.cpuprofile [top] [--from-s S] [--to-s S] [--inclusive]');
  process.exit(2);
}
const top = Number(topText ?? 40);
const fromUs = Number(values['from-s']) * 1e6;
const toUs = Number(values['to-s']) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

function nameOf(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${url.replace(/^.*\/(dist|node_modules)\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

// Sample i is taken at the sum of the deltas up to it.
const selfUs = new Map<number, number>();
let at = 0;
let first = Infinity;
let last = 0;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < fromUs || at > toUs) return;
  first = Math.min(first, at);
  last = at;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

if (selfUs.size === 0) {
  console.error(`no samples between ${values['from-s']} s and ${values['to-s']} s of ${file}`);
  process.exit(2);
}

const byFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const key = nameOf(n);
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  total += us;
  if (!values.inclusive || key === '(idle)') continue;
  // Each function on the stack once (recursion would count it twice).
  const seen = new Set<string>();
  for (let p: number | undefined = id; p !== undefined; p = parentOf.get(p)) {
    const name = nameOf(byId.get(p)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
}

const idle = byFunction.get('(idle)') ?? 0;
const busy = total - idle;
const span = first === Infinity ? '' : ` (samples ${(first / 1e6).toFixed(1)}-${(last / 1e6).toFixed(1)} s)`;
console.log(
  `total ${(total / 1e6).toFixed(2)} s${span}, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(1)}%)`,
);
function print(table: Map<string, number>): void {
  const rows = [...table]
    .filter(([k]) => k !== '(idle)' && k !== '(root)')
    .sort((x, y) => y[1] - x[1])
    .slice(0, top);
  for (const [name, us] of rows) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
  }
}
console.log('self time:');
print(byFunction);
if (values.inclusive) {
  console.log('inclusive time (the function and what it called):');
  print(inclusive);
}
