// Latency, mesh against nebula 1.6.1 in the same run: `node dist/bench/latency.js [options]` as root.
//
//   RTT   an established tunnel a -> b on the veth pair (bench-lab.ts): --pings echo requests at each of
//         --intervals (seconds apart), median and p99 of the replies; the raw veth for reference. The interval
//         matters: a daemon woken from idle answers slower than one kept busy. With --lead-in-ms (1000) every
//         interval starts on freshly started daemons (the first ping crossed, then at once) and its first
//         lead-in-ms worth of pings are the lead-in, reported on their own: the steady columns are the --pings after
//         it, so neither a fresh tunnel's start-up (V8 compiling, the warm-up) nor the steady state hides the other.
//         --lead-in-ms 0 is the old measure: one start per round, every interval in turn on it, all pings counted.
//         --rtt-idle-ms MS waits that long between the first ping crossing and the measured ones: the order of a node
//         whose first tunnel is a lighthouse's (its idle-time work, e.g. the warm-up, done before traffic starts).
//   cold  time from starting a's process to the first ping reply from b, through a lighthouse (lighthouse-lab.ts):
//         lighthouse and b already up, a started fresh each trial while ping (every 5 ms) waits for its route.
//   first first contact on running daemons: lighthouse, a and b started fresh each trial; once a and b have logged
//         their tunnel to the lighthouse up (their host updates go out on it) and --settle ms more, a pings b, whom
//         it never contacted: the time from the first echo request entering a's TUN to the first reply (lighthouse
//         query, answer, handshake, the queued packet and its reply; bench/first-contact.ts). Process start is not in
//         it (that is `cold`). Each trial logs how many messages a sent the lighthouse meanwhile (2 in the usual case).
//
// Options: --pings N (500)  --intervals 0.001,0.01  --trials N (5, per implementation, alternating)  --only mesh,nebula
//          --rtt-trials N (1: rounds of the RTT part, each running every implementation and variant once, in turn)
//          --lead-in-ms MS (1000, see RTT)  --rtt-idle-ms MS (0, see RTT)
//          --series DIR (RTT: each run's replies as CSV, seq,at_ms,rtt_ms)
//          --sched DIR (RTT: a system-wide perf record of the scheduler over each ping run, kept in DIR, and its 8
//          slowest replies with what had the CPUs meanwhile: a's and b's main and helper threads, ping, the rest of
//          the machine, idle (bench/slow-replies.ts). perf's set-up adds a second before each run's pings)
//          --parts rtt,cold (rtt,first,cold: any of them)  --settle MS (1500: first's wait after registration)
//          --windows (first: each contact's a and b pids and window, for bench/contact-stages.ts with --cpu-prof)
//          --wire (first: tcpdump on a's and b's eth0 and TUN; each contact's packets and its stages' wall times,
//          medians per run at the end: bench/contact-wire.ts. The four captures wake per packet on a 2-core machine,
//          so that run's ms and CPU rows are labelled "(with captures)": not comparable with a run without --wire)
//          --second (first: then a contacts c, a second peer it never contacted, --settle ms after b: its own rows,
//          "<run> 2nd"; what is faster there was first-time-in-process cost on a's side, c's being its first)
//          --variant name:KEY=VAL[,KEY=VAL]  an extra mesh run (in every part) with this environment
//          (MESH_MAIN=<other build>/dist/bin/mesh.cjs compares builds, MESH_AEAD=node the node:crypto backend)

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import type { PingOptions } from '../test/e2e/lab/ping.js';
import { sleep } from '../test/e2e/lab/wait.js';
import { OVERLAY, PairLab, parseVariant, UNDERLAY, type ImplName, type RunningPair } from './bench-lab.js';
import { WireStages, wireNames, wirePoints } from './contact-wire-lab.js';
import { ContactWire } from './contact-wire.js';
import { firstContact, LighthouseInbound, waitRegistered, type ContactWindow } from './first-contact.js';
import { LH_OVERLAY, LighthouseLab } from './lighthouse-lab.js';
import { parsePingSeries, seriesCsv, splitLeadIn, type PingReply } from './ping-series.js';
import { median, quantile } from './proc-stats.js';
import { recordSched, slowRepliesOf } from './slow-replies.js';

const { values } = parseArgs({
  options: {
    pings: { type: 'string', default: '500' },
    intervals: { type: 'string', default: '0.001,0.01' },
    trials: { type: 'string', default: '5' },
    'rtt-trials': { type: 'string', default: '1' },
    only: { type: 'string', default: 'nebula,mesh' },
    parts: { type: 'string', default: 'rtt,cold' },
    settle: { type: 'string', default: '1500' },
    variant: { type: 'string', multiple: true, default: [] },
    'lead-in-ms': { type: 'string', default: '1000' },
    'rtt-idle-ms': { type: 'string', default: '0' },
    series: { type: 'string' },
    sched: { type: 'string' },
    windows: { type: 'boolean', default: false },
    wire: { type: 'boolean', default: false },
    second: { type: 'boolean', default: false },
  },
});
const impls = values.only.split(',') as ImplName[];
const pings = Number(values.pings);
const intervals = values.intervals.split(',').map(Number);
const trials = Number(values.trials);
const rttTrials = Number(values['rtt-trials']);
const parts = values.parts.split(',');
const settleMs = Number(values.settle);
const leadInMs = Number(values['lead-in-ms']);
// ping numbers its echo requests in 16 bits: beyond that, the split into lead-in and the rest (by sequence) breaks.
for (const interval of intervals) {
  if (Math.ceil(leadInMs / (interval * 1000)) + pings > 65535) {
    console.error(`latency: lead-in and --pings at a ${interval} s interval exceed ping's 65535 sequence numbers`);
    process.exit(2);
  }
}
const rttIdleMs = Number(values['rtt-idle-ms']);
const seriesDir = values.series;
const schedDir = values.sched;
/** Extra mesh runs for the RTT part: [label, environment]. */
const variants: Array<[string, NodeJS.ProcessEnv]> = values.variant.map(parseVariant);

/** Every implementation, then every mesh variant: [label, implementation, environment]. */
function allRuns(): Run[] {
  return [
    ...impls.map((impl): [string, ImplName, undefined] => [impl, impl, undefined]),
    ...variants.map(([label, env]): [string, ImplName, NodeJS.ProcessEnv] => [label, 'mesh', env]),
  ];
}

/** `count` echo requests `intervalSec` apart, with 5 s beyond the run for the last replies. */
function pingRun(count: number, intervalSec: number): PingOptions {
  return { count, intervalSec, timeoutSec: Math.ceil(count * intervalSec) + 5 };
}

async function rtt(lab: Lab, from: Host, ip: string, intervalSec: number): Promise<number[]> {
  return (await lab.ping(from, ip, pingRun(pings, intervalSec))).rttMs;
}

function fmt(ms: number[]): string {
  return `median ${median(ms).toFixed(3)} ms, p99 ${quantile(ms, 0.99).toFixed(3)} ms (${ms.length} replies)`;
}

/** Pings of the lead-in at `intervalSec`: --lead-in-ms worth of them. */
function leadInPings(intervalSec: number): number {
  return Math.ceil(leadInMs / (intervalSec * 1000));
}

/** The slowest replies with their place in the series: where they sit tells start-up, timer and load apart. */
function slowest(replies: readonly PingReply[], n: number): string {
  if (replies.length === 0) return '';
  const t0 = replies[0].atMs;
  return [...replies]
    .sort((x, y) => y.rttMs - x.rttMs)
    .slice(0, n)
    .map((r) => `#${r.seq}@${((r.atMs - t0) / 1000).toFixed(2)}s ${r.rttMs}`)
    .join(' ');
}

/** One table row: label, interval, steady median and p99, lead-in median, p99 and max ("-" without a lead-in). */
function rttRow(name: string, intervalSec: number, steady: number[], leadIn: number[]): string {
  const cells = [median(steady), quantile(steady, 0.99)].map((v) => v.toFixed(3));
  const lead =
    leadIn.length === 0
      ? ['-', '-', '-']
      : [median(leadIn), quantile(leadIn, 0.99), Math.max(...leadIn)].map((v) => v.toFixed(3));
  return `| ${name} | ${intervalSec * 1000} | ${[...cells, ...lead].join(' | ')} |`;
}

/** One measured interval on running daemons: the lead-in (when asked for) and the steady pings, one ping process. */
async function rttInterval(pair: PairLab, running: RunningPair, name: string, intervalSec: number): Promise<string> {
  const lead = leadInMs > 0 ? leadInPings(intervalSec) : 0;
  const schedFile =
    schedDir === undefined ? undefined : join(schedDir, `${fileName(name)}-${intervalSec * 1000}ms.perf`);
  if (schedDir !== undefined) mkdirSync(schedDir, { recursive: true });
  const recording = schedFile === undefined ? undefined : await recordSched(schedFile);
  const run = await pair.lab.ping(pair.a, OVERLAY.b, { ...pingRun(lead + pings, intervalSec), timestamps: true });
  await recording?.stop();
  const replies = parsePingSeries(run.output);
  const split = splitLeadIn(replies, lead);
  const steady = split.steady.map((r) => r.rttMs);
  const leadIn = split.leadIn.map((r) => r.rttMs);
  console.error(`  rtt ${name} every ${intervalSec * 1000} ms: ${fmt(steady)}`);
  if (lead > 0) console.error(`    lead-in (${lead} pings): ${fmt(leadIn)}`);
  console.error(`    slowest (seq@time rtt): ${slowest(replies, 8)}`);
  if (schedFile !== undefined) {
    const pids = { a: running.a.pid, b: running.b.pid };
    const report = await slowRepliesOf(schedFile, split.steady, pids, 8);
    console.error(
      `    steady's slowest, ms of CPU in each one's window (${schedFile}):\n${report.replace(/^/gm, '      ')}`,
    );
  }
  if (seriesDir !== undefined) {
    mkdirSync(seriesDir, { recursive: true });
    const file = `${fileName(name)}-${intervalSec * 1000}ms.csv`;
    writeFileSync(join(seriesDir, file), seriesCsv(replies));
  }
  return rttRow(name, intervalSec, steady, leadIn);
}

/** A run's label as a file name. */
function fileName(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}

/** Starts `impl` on the pair (the first ping has crossed once this resolves), then idles --rtt-idle-ms. */
async function start(pair: PairLab, impl: ImplName, env: NodeJS.ProcessEnv | undefined): Promise<RunningPair> {
  const running = await pair.start(impl, env);
  if (rttIdleMs > 0) await sleep(rttIdleMs);
  return running;
}

async function rttRun(): Promise<string[]> {
  const pair = await PairLab.create();
  const lines: string[] = [];
  try {
    for (const interval of intervals) {
      const raw = await rtt(pair.lab, pair.a, UNDERLAY.b, interval);
      lines.push(rttRow('raw veth', interval, raw, []));
    }
    const runs = allRuns();
    // Rounds alternate the runs, so load that changes during the bench falls on all of them alike; every daemon
    // starts fresh each round (its first pings are its cold ones), and with a lead-in for each interval too, so
    // every interval's lead-in is a fresh tunnel's.
    for (let round = 1; round <= rttTrials; round++) {
      for (const [label, impl, env] of runs) {
        const name = rttTrials > 1 ? `${label} #${round}` : label;
        let running = leadInMs <= 0 ? await start(pair, impl, env) : undefined;
        for (const interval of intervals) {
          if (leadInMs > 0 || running === undefined) running = await start(pair, impl, env);
          lines.push(await rttInterval(pair, running, name, interval));
        }
        await pair.stop();
      }
    }
  } finally {
    await pair.destroy();
  }
  return lines;
}

/** A ping that keeps retrying until a's route exists, then resolves with the wall-clock time of the first reply. */
async function firstReply(lab: Lab, from: Host, ip: string, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    const ping = await lab.spawn(from, 'ping', ['-D', '-n', '-i', '0.005', '-w', '15', ip]);
    const early = await Promise.race([ping.exited.then(() => true), sleep(30).then(() => false)]);
    if (early) {
      // No route yet (the TUN is not up): ping gives up at once. Try again.
      await sleep(2);
      continue;
    }
    try {
      const m = await ping.waitForLog(/^\[(\d+\.\d+)\] \d+ bytes from/m, Math.max(0, deadline - Date.now()));
      return Number(m[1]) * 1000;
    } finally {
      await ping.kill(500);
    }
  }
  throw new Error(`no reply from ${ip} in time`);
}

type Run = [label: string, impl: ImplName, env: NodeJS.ProcessEnv | undefined];

/** lighthouse-lab.ts: the lighthouse listens on 4242, a's TUN is bench<role>. */
const LIGHTHOUSE_PORT = 4242;
const A_TUN = 'bencha';

/**
 * Every run `trials` times, the runs in turn within each trial (so a load trend falls on all alike): `trial` starts
 * what it needs on `lhLab` and returns its sample; every daemon is stopped after each. Samples by label.
 */
async function trialsPerRun<T>(
  lhLab: LighthouseLab,
  runs: readonly Run[],
  trial: (run: Run, t: number) => Promise<T>,
): Promise<Map<string, T[]>> {
  const samples = new Map<string, T[]>(runs.map(([label]) => [label, []]));
  for (let t = 1; t <= trials; t++) {
    for (const run of runs) {
      try {
        samples.get(run[0])?.push(await trial(run, t));
      } finally {
        await lhLab.stopAll();
      }
    }
  }
  return samples;
}

/** A table row's label, median, min and max of `ms` (its cells; the caller closes the row). */
function rangeRow(label: string, ms: readonly number[], digits: number): string {
  return `| ${label} | ${median([...ms]).toFixed(digits)} | ${Math.min(...ms).toFixed(digits)} | ${Math.max(...ms).toFixed(digits)} |`;
}

async function coldRun(): Promise<string[]> {
  const lhLab = await LighthouseLab.create();
  const runs = allRuns();
  try {
    const samples = await trialsPerRun(lhLab, runs, async ([label, impl, env], t) => {
      await lhLab.start(impl, 'lh', true, env);
      await lhLab.start(impl, 'b', true, env);
      await sleep(1000); // b reports itself to the lighthouse
      const t0 = Date.now();
      await lhLab.start(impl, 'a', false, env);
      const reply = await firstReply(lhLab.lab, lhLab.hosts.a, LH_OVERLAY.b, t0 + 20_000);
      const ms = reply - t0;
      console.error(`  cold ${label} trial ${t}: ${ms.toFixed(0)} ms`);
      return ms;
    });
    return runs.map(([label]) => rangeRow(label, samples.get(label) ?? [], 0));
  } finally {
    await lhLab.destroy();
  }
}

/** CPU time a thread has run so far, in ms (the scheduler's nanosecond count, not ticks). */
function threadCpuMs(pid: number, tid: number | string): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/** CPU time a process has run so far, all its threads, in ms. */
function cpuMs(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).reduce((sum, task) => sum + threadCpuMs(pid, task), 0);
}

/** CPU ms the daemons `pids` ran between the ping's start and its reply (the packet capture's startup left out). */
class DaemonCpu implements ContactWindow {
  private startMs = 0;
  usedMs = NaN;
  private mainStartMs = 0;
  /** Of usedMs, the daemons' main threads': the rest ran on V8's helper threads (optimizing compiles, GC). */
  mainMs = NaN;

  constructor(private readonly pids: readonly number[]) {}

  /** The window on the monotonic clock (µs), the clock of a .cpuprofile's startTime (--windows). */
  fromUs = 0n;
  toUs = 0n;

  opened(): void {
    this.mainStartMs = this.mains();
    this.startMs = this.total();
    this.fromUs = process.hrtime.bigint() / 1000n;
  }

  closed(): void {
    this.toUs = process.hrtime.bigint() / 1000n;
    this.usedMs = this.total() - this.startMs;
    this.mainMs = this.mains() - this.mainStartMs;
  }

  private mains(): number {
    return this.pids.reduce((sum, pid) => sum + threadCpuMs(pid, pid), 0);
  }

  private total(): number {
    return this.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  }
}

interface FirstSample {
  /** --second: a's contact with c after b's. */
  second?: Omit<FirstSample, 'second'>;
  ms: number;
  /** CPU ms a and b spent on the first contact (from just before the ping to its reply): load-proof, unlike ms. */
  cpuMs: number;
  /** UDP packets a sent the lighthouse's port during the contact (an nftables counter in its namespace). */
  lighthouseMessages: number;
}

/**
 * With NODE_ARGS=--trace-opt/--trace-deopt in a variant: V8's optimizing compiles and deopts a and b logged during
 * the contact (a cold contact shows as compiles; code optimized on the warm-up's objects and thrown out as deopts).
 */
function v8Traces(logs: string[]): string {
  const count = (re: RegExp) => logs.map((l) => l.match(re)?.length ?? 0).join('+');
  const opt = count(/\[compiling method/g);
  const deopt = count(/\[bailout \(kind: deopt/g);
  return opt === '0+0' && deopt === '0+0' ? '' : `; V8 compiles a+b ${opt}, deopts ${deopt}`;
}

async function firstRun(): Promise<string[]> {
  const lhLab = await LighthouseLab.create();
  const wireStages = new WireStages();
  const runs = allRuns();
  // The captures' own cost lands in the contact's wall time and a+b CPU: say so wherever those are printed.
  const captured = values.wire ? ' (with captures)' : '';
  try {
    const inbound = await LighthouseInbound.install(lhLab.lab, lhLab.hosts.lh, lhLab.hosts.a.ip, LIGHTHOUSE_PORT);
    const samples = await trialsPerRun(lhLab, runs, async ([label, impl, env], t): Promise<FirstSample> => {
      await lhLab.start(impl, 'lh', true, env);
      const b = await lhLab.start(impl, 'b', true, env);
      const c = values.second ? await lhLab.start(impl, 'c', true, env) : null;
      const a = await lhLab.start(impl, 'a', true, env);
      const waited = await waitRegistered(c === null ? [a, b] : [a, b, c], LH_OVERLAY.lh, 10_000);
      await sleep(settleMs); // startup work (JIT, timers) out of the way
      const lh0 = await inbound.packets();
      const cpu = new DaemonCpu([a.pid, b.pid]);
      const logsAt = [a.log().length, b.log().length];
      const wire = values.wire ? await ContactWire.start(lhLab.lab, wirePoints(lhLab)) : null;
      const { ms, seq } = await firstContact(lhLab.lab, lhLab.hosts.a, A_TUN, LH_OVERLAY.b, cpu);
      if (wire !== null) wireStages.add(label, t, await wire.stop(wireNames(lhLab)));
      const used = cpu.usedMs;
      const v8 = v8Traces([a.log().slice(logsAt[0]), b.log().slice(logsAt[1])]);
      const lighthouseMessages = (await inbound.packets()) - lh0;
      console.error(
        `  first ${label} trial ${t}${captured}: ${ms.toFixed(2)} ms (reply to request ${seq}), a+b CPU ${used.toFixed(2)} ms (main threads ${cpu.mainMs.toFixed(2)}), ${lighthouseMessages} message(s) a -> lighthouse; registered after ${waited.toFixed(0)} ms${v8}`,
      );
      if (values.windows) {
        console.error(`  contact window: a pid ${a.pid}, b pid ${b.pid}, monotonic ${cpu.fromUs}-${cpu.toUs} us`);
      }
      if (c === null) return { ms, cpuMs: used, lighthouseMessages };
      await sleep(settleMs);
      const lh1 = await inbound.packets();
      const cpu2 = new DaemonCpu([a.pid, c.pid]);
      const wire2 = values.wire ? await ContactWire.start(lhLab.lab, wirePoints(lhLab, 'c')) : null;
      const second = await firstContact(lhLab.lab, lhLab.hosts.a, A_TUN, LH_OVERLAY.c, cpu2);
      if (wire2 !== null) wireStages.add(`${label} 2nd`, t, await wire2.stop(wireNames(lhLab, 'c')));
      const messages2 = (await inbound.packets()) - lh1;
      console.error(
        `  first ${label} trial ${t}, second peer${captured}: ${second.ms.toFixed(2)} ms, a+c CPU ${cpu2.usedMs.toFixed(2)} ms (main threads ${cpu2.mainMs.toFixed(2)}), ${messages2} message(s) a -> lighthouse`,
      );
      return {
        ms,
        cpuMs: used,
        lighthouseMessages,
        second: { ms: second.ms, cpuMs: cpu2.usedMs, lighthouseMessages: messages2 },
      };
    });
    const rows = runs.flatMap(([label]) => {
      const all = samples.get(label) ?? [];
      const row = (name: string, of: ReadonlyArray<Omit<FirstSample, 'second'>>) =>
        `${rangeRow(
          name,
          of.map((s) => s.ms),
          2,
        )} ${median(of.map((s) => s.cpuMs)).toFixed(2)} |`;
      const seconds = all.flatMap((s) => (s.second === undefined ? [] : [s.second]));
      const first = row(`${label}${captured}`, all);
      return seconds.length === 0 ? [first] : [first, row(`${label} 2nd${captured}`, seconds)];
    });
    // A count, not a verdict: both implementations sent 2 in every trial measured so far; more means the contact
    // waited on the lighthouse longer (e.g. a query resent).
    const messages = runs.map(([label]) => {
      const n = (samples.get(label) ?? []).map((s) => s.lighthouseMessages);
      return `${label} ${Math.min(...n)}-${Math.max(...n)}`;
    });
    console.error(`  messages a -> lighthouse per contact (min-max): ${messages.join(', ')}`);
    if (values.wire) {
      const labels = runs.flatMap(([label]) => (values.second ? [label, `${label} 2nd`] : [label]));
      console.error(wireStages.summary(labels));
    }
    return rows;
  } finally {
    await lhLab.destroy();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab needs network namespaces');
  console.error(`latency: ${pings} pings, ${trials} cold trials per implementation`);
  if (parts.includes('rtt')) {
    const rttLines = await rttRun();
    const head =
      '| overlay RTT | ping every ms | median ms | p99 ms | lead-in median ms | lead-in p99 ms | lead-in max ms |';
    console.log([head, '|---|---|---|---|---|---|---|', ...rttLines].join('\n'));
    console.log();
  }
  if (parts.includes('first')) {
    const firstLines = await firstRun();
    console.log(
      [
        '| first contact on running daemons | median ms | min | max | a+b CPU ms |',
        '|---|---|---|---|---|',
        ...firstLines,
      ].join('\n'),
    );
    console.log();
  }
  if (parts.includes('cold')) {
    const coldLines = await coldRun();
    console.log(
      ['| cold tunnel: process start to first reply | median ms | min | max |', '|---|---|---|---|', ...coldLines].join(
        '\n',
      ),
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
