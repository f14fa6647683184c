// What one daemon does per wake-up while a pings it every --interval seconds (issue 19: the 1 s ping RTT), mesh
// against nebula 1.6.1 on the same lab (bench-lab.ts PairLab). `node dist/bench/wake-probe.js [options]` as root.
//
// Per run: the pair starts, settles --settle ms (start-up work and mesh's warm-up out of the way), then a pings b
// --pings times while the kernel's software counters for b's process are read around the pings (perf stat -p:
// task-clock, context switches, migrations, page faults; the hardware counters where the machine has them) along
// with every thread's schedstat (CPU ns, run-queue wait ns, time slices). All of it is divided by the pings.
// With --record a `perf record` of a's and b's scheduler and syscall tracepoints runs over the same pings and
// its file is kept in --out for `perf script` / `perf sched` (what ran, on which core, from wake-up to TUN write).
//
// Options: --pings N (20)  --interval S (1)  --settle MS (3000)  --only nebula,mesh  --record  --sample  --out DIR
//          --rounds N (1)  --analyze FILE --pids A,B  (the packet paths of a kept --record file, no lab)
//          --idle-gap MS (100)  a packet after this long without one is a cold path (5 with --interval 0.01)
//          --event E  one more event for --record (repeatable), e.g. a uprobe made with `perf probe -x <addon> --add
//                     on_readable`: the packet paths then show where the time from the wake-up to the read goes
//          --variant name:KEY=VAL[,KEY=VAL]  an extra mesh run with this environment (as in latency.js)
//          --gaps S,S,...  instead of --interval: one ping after each of these idle gaps (seconds), the list repeated
//                     --pings times, all in one process; the replies by gap (bench/gap-mix.ts: what the gap itself
//                     costs, the process's state held equal)
//          --prime N  N pings 10 ms apart after --settle, before the measured ones (a process that has run packets)

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { sleep } from '../test/e2e/lab/wait.js';
import { OVERLAY, PairLab, parseVariant, type ImplName } from './bench-lab.js';
import { describeGapRows, gapSchedule, parseGaps, summarizeByGap, type GapSample } from './gap-mix.js';
import { describePaths, IDLE_GAP_S, packetPaths } from './packet-paths.js';
import { median, quantile } from './proc-stats.js';

const { values } = parseArgs({
  options: {
    pings: { type: 'string', default: '20' },
    interval: { type: 'string', default: '1' },
    settle: { type: 'string', default: '3000' },
    only: { type: 'string', default: 'nebula,mesh' },
    record: { type: 'boolean', default: false },
    sample: { type: 'boolean', default: false },
    out: { type: 'string', default: '/tmp/wake-probe' },
    rounds: { type: 'string', default: '1' },
    analyze: { type: 'string' },
    pids: { type: 'string', default: '' },
    variant: { type: 'string', multiple: true, default: [] },
    'idle-gap': { type: 'string', default: String(IDLE_GAP_S * 1000) },
    event: { type: 'string', multiple: true, default: [] },
    gaps: { type: 'string' },
    prime: { type: 'string', default: '0' },
  },
});
const idleGapS = Number(values['idle-gap']) / 1000;
const pings = Number(values.pings);
const intervalSec = Number(values.interval);
const gaps = values.gaps === undefined ? undefined : parseGaps(values.gaps);
const primePings = Number(values.prime);

const EVENTS = [
  'task-clock',
  'context-switches',
  'cpu-migrations',
  'page-faults',
  'major-faults',
  'cycles',
  'instructions',
  'cache-misses',
  'iTLB-load-misses',
  'dTLB-load-misses',
];
const TRACEPOINTS = [
  'sched:sched_switch',
  'sched:sched_wakeup',
  'sched:sched_migrate_task',
  'raw_syscalls:sys_enter',
  'raw_syscalls:sys_exit',
  'exceptions:page_fault_user',
];

type Run = [label: string, impl: ImplName, env: NodeJS.ProcessEnv | undefined];

/** Per thread of `pid`: [name, cpu ns, run-queue wait ns, slices]. */
function schedstat(pid: number): Map<string, [string, number, number, number]> {
  const out = new Map<string, [string, number, number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [cpu, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, [name, Number(cpu), Number(wait), Number(slices)]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** A started tool, stopped with SIGINT (perf prints or writes its file on it); resolves with its stderr. */
function tool(cmd: string, args: string[]): { stop: () => Promise<string> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': the process can end before its stderr's last chunk was read.
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  return {
    stop: async () => {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
      return err;
    },
  };
}

/** perf stat -x, output: event -> value (NaN where not supported). */
function perfStat(csv: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of csv.split('\n')) {
    const cells = line.split(',');
    if (cells.length < 3) continue;
    out.set(cells[2].replace(/:u$/, ''), Number(cells[0]));
  }
  return out;
}

async function probe(pair: PairLab, [label, impl, env]: Run, round: number): Promise<string[]> {
  const running = await pair.start(impl, env);
  await sleep(Number(values.settle));
  if (primePings > 0)
    await pair.lab.ping(pair.a, OVERLAY.b, { count: primePings, intervalSec: 0.01, timeoutSec: primePings / 100 + 5 });
  const pid = running.b.pid;
  const before = schedstat(pid);
  const stat = tool('perf', ['stat', '-x,', '-e', EVENTS.join(','), '-p', String(pid)]);
  const file = join(values.out, `${label}-${round}.data`);
  // --record: a's and b's scheduler and syscall events; --sample: b alone, a sample with its call chain every 20 us
  // of its CPU time (a software clock that only runs while b does, so it wakes nothing while b is idle).
  const pids = `${running.a.pid},${running.b.pid}`;
  const rec = values.record
    ? tool('perf', [
        'record',
        '-q',
        '-p',
        pids,
        '-o',
        file,
        ...[...TRACEPOINTS, ...values.event].flatMap((e) => ['-e', e]),
      ])
    : values.sample
      ? tool('perf', ['record', '-q', '-g', '-e', 'task-clock', '-c', '20000', '-p', String(pid), '-o', file])
      : null;
  await sleep(300); // the tools attached
  const samples: GapSample[] = [];
  let rttMs: number[];
  if (gaps === undefined) {
    const r = await pair.lab.ping(pair.a, OVERLAY.b, {
      count: pings,
      intervalSec,
      timeoutSec: Math.ceil(pings * intervalSec) + 5,
    });
    rttMs = r.rttMs;
  } else {
    for (const gapS of gapSchedule(gaps, pings)) {
      await sleep(gapS * 1000);
      const r = await pair.lab.ping(pair.a, OVERLAY.b, { count: 1, timeoutSec: 1 });
      samples.push({ gapS, rttMs: r.rttMs[0] });
    }
    rttMs = samples.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs]));
  }
  const counters = perfStat(await stat.stop());
  if (rec) await rec.stop();
  const after = schedstat(pid);
  const n = rttMs.length;
  const lines = [
    `${label} #${round}: rtt median ${median(rttMs).toFixed(3)} p99 ${quantile(rttMs, 0.99).toFixed(3)} ms (${n} replies): ${rttMs.map((x) => x.toFixed(2)).join(' ')}`,
  ];
  if (gaps !== undefined) lines.push(`  by gap: ${describeGapRows(summarizeByGap(samples))}`);
  const per = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? 'n/a' : (v / n).toFixed(2));
  lines.push(`  b per ping: ${EVENTS.map((e) => `${e} ${per(counters.get(e))}`).join(', ')} (task-clock in ms)`);
  for (const [tid, [name, cpu, wait, slices]] of after) {
    const was = before.get(tid) ?? [name, 0, 0, 0];
    const dSlices = slices - was[3];
    if (dSlices === 0) continue;
    lines.push(
      `  thread ${name} (${tid}): cpu ${((cpu - was[1]) / n / 1000).toFixed(1)} us, run-queue wait ${((wait - was[2]) / n / 1000).toFixed(1)} us, slices ${(dSlices / n).toFixed(2)} per ping`,
    );
  }
  if (values.record) {
    lines.push(`  perf record: ${file}`);
    const script = await perfScript(file);
    for (const [who, pid] of [
      ['a', running.a.pid],
      ['b', running.b.pid],
    ] as const)
      lines.push(`  ${who} packet paths: ${describePaths(packetPaths(script, pid, idleGapS))}`);
  }
  return lines;
}

/** `perf script` of a recorded file: one event a line (pid/tid, time, event, its fields). */
export async function perfScript(file: string): Promise<string> {
  const child = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,time,event,trace'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close': every chunk of stdout has been read ('exit' can come first and cut the last events off).
  await new Promise<void>((done) => child.once('close', () => done()));
  return out;
}

async function main(): Promise<void> {
  if (values.analyze !== undefined) {
    const script = await perfScript(values.analyze);
    for (const pid of values.pids.split(',').map(Number))
      console.log(`${pid} packet paths: ${describePaths(packetPaths(script, pid, idleGapS))}`);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab needs network namespaces');
  mkdirSync(values.out, { recursive: true });
  const runs: Run[] = [
    ...values.only
      .split(',')
      .filter(Boolean)
      .map((impl): Run => [impl, impl as ImplName, undefined]),
    ...values.variant.map((spec): Run => {
      const [label, env] = parseVariant(spec);
      return [label, 'mesh', env];
    }),
  ];
  const pair = await PairLab.create();
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const run of runs) {
        for (const line of await probe(pair, run, round)) console.log(line);
        await pair.stop();
      }
    }
  } finally {
    await pair.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
