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

import { tallyProfile, type Profile } from './profile-tally.js';

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
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const tally = tallyProfile(profile, {
  fromUs: Number(values['from-s']) * 1e6,
  toUs: Number(values['to-s']) * 1e6,
  inclusive: values.inclusive,
});
if (tally.span === null) {
  console.error(`no samples between ${values['from-s']} s and ${values['to-s']} s of ${file}`);
  process.exit(2);
}

const total = tally.totalUs;
const busy = total - tally.idleUs;
const span = ` (samples ${(tally.span.firstUs / 1e6).toFixed(1)}-${(tally.span.lastUs / 1e6).toFixed(1)} s)`;
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
print(tally.self);
if (values.inclusive) {
  console.log('inclusive time (the function and what it called):');
  print(tally.inclusive);
}
