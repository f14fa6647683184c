// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, heaviest first, and the share
// of idle, GC and native time. Run: `node dist/bench/profile-summary.js FILE.cpuprofile [top N]`.
//
// To profile the daemons under load: node dist/bench/throughput.js --rounds 1 --only prof \
//   --variant 'prof:NODE_ARGS=--cpu-prof --cpu-prof-dir=/tmp/mesh-prof'

import { readFileSync } from 'node:fs';

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

const [file, topText] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary FILE.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topText ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const byFunction = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${url.replace(/^.*\/(dist|node_modules)\//, '')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  total += us;
}

const idle = byFunction.get('(idle)') ?? 0;
const busy = total - idle;
console.log(
  `total ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(1)}%)`,
);
const rows = [...byFunction]
  .filter(([k]) => k !== '(idle)')
  .sort((x, y) => y[1] - x[1])
  .slice(0, top);
for (const [name, us] of rows) {
  console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
}
