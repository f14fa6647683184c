// Where a perf recording of one node process went, in microseconds per unit of work (bench/perf-split-tally.ts
// names the buckets): e.g. a lighthouse's join from `lh-load.js --perf-join DIR --variant 'prof=--perf-basic-prof'
// --impls prof`, divided by its handshakes.
//
//   node dist/bench/perf-split.js FILE.data UNITS [--top N]
//
// The main thread is the thread with the most samples (tid = pid for node). As root (perf script reads the file and
// /tmp/perf-PID.map).

import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

import { groupOf, parsePerfScript, split } from './perf-split-tally.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' } },
});
const [file, unitsText] = positionals;
if (!file || !unitsText) {
  console.error('usage: perf-split FILE.data UNITS [--top N]');
  process.exit(2);
}
const units = Number(unitsText);
const text = execFileSync('perf', ['script', '-i', file, '-F', 'tid,period,ip,sym,dso'], {
  encoding: 'utf8',
  maxBuffer: 1 << 30,
  stdio: ['ignore', 'pipe', 'ignore'],
});
const samples = parsePerfScript(text);
const perTid = new Map<number, number>();
for (const s of samples) perTid.set(s.tid, (perTid.get(s.tid) ?? 0) + s.period);
const mainTid = [...perTid].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
const rows = split(samples, mainTid);
const total = rows.reduce((a, r) => a + r.ns, 0);
const us = (ns: number): string => (ns / 1e3 / units).toFixed(1);
console.log(
  `${samples.length} samples, ${(total / 1e9).toFixed(2)} s of CPU (${us(total)} us per unit over ${units}), main thread ${((100 * (perTid.get(mainTid) ?? 0)) / total).toFixed(1)}%`,
);
console.log('| bucket | us per unit | % | of it off the main thread, us |');
console.log('|---|---|---|---|');
for (const r of rows.slice(0, Number(values.top))) {
  console.log(`| ${r.bucket} | ${us(r.ns)} | ${((100 * r.ns) / total).toFixed(1)} | ${us(r.offMainNs)} |`);
}
const rest = rows.slice(Number(values.top)).reduce((a, r) => a + r.ns, 0);
if (rest > 0)
  console.log(`| (${rows.length - Number(values.top)} more) | ${us(rest)} | ${((100 * rest) / total).toFixed(1)} | |`);

const groups = new Map<string, number>();
for (const r of rows) groups.set(groupOf(r.bucket), (groups.get(groupOf(r.bucket)) ?? 0) + r.ns);
console.log('\n| group | us per unit | % |');
console.log('|---|---|---|');
for (const [g, ns] of [...groups].sort((a, b) => b[1] - a[1])) {
  console.log(`| ${g} | ${us(ns)} | ${((100 * ns) / total).toFixed(1)} |`);
}
