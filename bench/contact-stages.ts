// Where a's and b's CPU went during first contacts, by stage (bench/contact-stage-tally.ts), averaged over trials:
//
//   node dist/bench/latency.js --parts first --trials 8 --only nebula --windows \
//     --variant 'prof:NODE_ARGS=--cpu-prof --cpu-prof-interval 50 --cpu-prof-dir=/tmp/prof' 2> /tmp/first.log
//   node dist/bench/contact-stages.js /tmp/first.log /tmp/prof
//
// The profiler at 50 µs costs the daemons about a third more CPU; read the shares, not the absolute figures.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseWindows, stagesOf, type TimedProfile } from './contact-stage-tally.js';

const [logFile, dir] = process.argv.slice(2);
if (!logFile || !dir) {
  console.error('usage: contact-stages LATENCY_LOG PROFILE_DIR');
  process.exit(2);
}
const windows = parseWindows(readFileSync(logFile, 'utf8'));
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
/** node names its profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile */
const fileOf = (pid: number) => files.find((f) => f.split('.')[3] === String(pid));

for (const role of ['a', 'b'] as const) {
  const sums = new Map<string, number>();
  let contacts = 0;
  for (const w of windows) {
    const file = fileOf(w[role]);
    if (file === undefined) continue;
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TimedProfile;
    for (const [stage, us] of stagesOf(profile, w.fromUs, w.toUs)) sums.set(stage, (sums.get(stage) ?? 0) + us);
    contacts++;
  }
  console.log(`${role}: ${contacts} contact(s), busy us per contact by stage`);
  for (const [stage, us] of [...sums].sort((x, y) => y[1] - x[1])) {
    console.log(`${(us / Math.max(1, contacts)).toFixed(0).padStart(7)}  ${stage}`);
  }
}
