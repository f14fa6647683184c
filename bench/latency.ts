// Latency, mesh against nebula 1.6.1 in the same run: `node dist/bench/latency.js [options]` as root.
//
//   RTT   an established tunnel a -> b on the veth pair (bench-lab.ts): --pings echo requests at each of
//         --intervals (seconds apart), median and p99 of the replies; the raw veth for reference. The interval
//         matters: a daemon woken from idle answers slower than one kept busy.
//   cold  time from starting a's process to the first ping reply from b, through a lighthouse (lighthouse-lab.ts):
//         lighthouse and b already up, a started fresh each trial while ping (every 5 ms) waits for its route.
//   first first contact on running daemons: lighthouse, a and b started fresh each trial and left to register
//         with the lighthouse (--settle ms), then a pings b, whom it never contacted: the time from the first echo
//         request to the first reply (lighthouse query, answer, handshake, the queued packet and its reply). Process
//         start is not in it (that is `cold`).
//
// Options: --pings N (500)  --intervals 0.001,0.01  --trials N (5, per implementation, alternating)  --only mesh,nebula
//          --rtt-trials N (1: rounds of the RTT part, each running every implementation and variant once, in turn)
//          --parts rtt,cold (rtt,first,cold: any of them)  --settle MS (1500: first's wait before the ping)
//          --variant name:KEY=VAL[,KEY=VAL]  an extra mesh run (in every part) with this environment
//          (MESH_MAIN=<other build>/dist/bin/mesh.cjs compares builds, MESH_AEAD=node the node:crypto backend)

import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import { sleep } from '../test/e2e/lab/wait.js';
import { OVERLAY, PairLab, UNDERLAY, type ImplName } from './bench-lab.js';
import { LH_OVERLAY, LighthouseLab } from './lighthouse-lab.js';
import { median, quantile } from './proc-stats.js';

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
  },
});
const impls = values.only.split(',') as ImplName[];
const pings = Number(values.pings);
const intervals = values.intervals.split(',').map(Number);
const trials = Number(values.trials);
const rttTrials = Number(values['rtt-trials']);
const parts = values.parts.split(',');
const settleMs = Number(values.settle);
/** Extra mesh runs for the RTT part: [label, environment]. */
const variants: Array<[string, NodeJS.ProcessEnv]> = values.variant.map((spec) => {
  const colon = spec.indexOf(':');
  const pairs =
    colon < 0
      ? []
      : spec
          .slice(colon + 1)
          .split(',')
          .filter(Boolean);
  return [
    colon < 0 ? spec : spec.slice(0, colon),
    Object.fromEntries(pairs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  ];
});

/** Every implementation, then every mesh variant: [label, implementation, environment]. */
function allRuns(): Array<[string, ImplName, NodeJS.ProcessEnv | undefined]> {
  return [
    ...impls.map((impl): [string, ImplName, undefined] => [impl, impl, undefined]),
    ...variants.map(([label, env]): [string, ImplName, NodeJS.ProcessEnv] => [label, 'mesh', env]),
  ];
}

async function rtt(lab: Lab, from: Host, ip: string, intervalSec: number): Promise<number[]> {
  const r = await lab.ping(from, ip, { count: pings, intervalSec, timeoutSec: Math.ceil(pings * intervalSec) + 5 });
  return r.rttMs;
}

function fmt(ms: number[]): string {
  return `median ${median(ms).toFixed(3)} ms, p99 ${quantile(ms, 0.99).toFixed(3)} ms (${ms.length} replies)`;
}

async function rttRun(): Promise<string[]> {
  const pair = await PairLab.create();
  const lines: string[] = [];
  try {
    for (const interval of intervals) {
      const raw = await rtt(pair.lab, pair.a, UNDERLAY.b, interval);
      lines.push(`| raw veth | ${interval * 1000} | ${median(raw).toFixed(3)} | ${quantile(raw, 0.99).toFixed(3)} |`);
    }
    const runs = allRuns();
    // Rounds alternate the runs, so load that changes during the bench falls on all of them alike; every daemon
    // starts fresh each round (its first pings are its cold ones).
    for (let round = 1; round <= rttTrials; round++) {
      for (const [label, impl, env] of runs) {
        await pair.start(impl, env);
        for (const interval of intervals) {
          const ms = await rtt(pair.lab, pair.a, OVERLAY.b, interval);
          const name = rttTrials > 1 ? `${label} #${round}` : label;
          console.error(`  rtt ${name} every ${interval * 1000} ms: ${fmt(ms)}`);
          lines.push(`| ${name} | ${interval * 1000} | ${median(ms).toFixed(3)} | ${quantile(ms, 0.99).toFixed(3)} |`);
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

async function coldRun(): Promise<string[]> {
  const lhLab = await LighthouseLab.create();
  const runs = allRuns();
  const samples = new Map<string, number[]>(runs.map(([label]) => [label, []]));
  try {
    for (let t = 1; t <= trials; t++) {
      for (const [label, impl, env] of runs) {
        await lhLab.start(impl, 'lh', true, env);
        await lhLab.start(impl, 'b', true, env);
        await sleep(1000); // b reports itself to the lighthouse
        const t0 = Date.now();
        try {
          await lhLab.start(impl, 'a', false, env);
          const reply = await firstReply(lhLab.lab, lhLab.hosts.a, LH_OVERLAY.b, t0 + 20_000);
          const ms = reply - t0;
          samples.get(label)?.push(ms);
          console.error(`  cold ${label} trial ${t}: ${ms.toFixed(0)} ms`);
        } finally {
          await lhLab.stopAll();
        }
      }
    }
  } finally {
    await lhLab.destroy();
  }
  return runs.map(([label]) => {
    const ms = samples.get(label) ?? [];
    return `| ${label} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} |`;
  });
}

/** How long a's first contact with b took: ping's own RTT of its first answered request, plus the requests before. */
const FIRST_PING_INTERVAL_MS = 2;

async function firstContact(lab: Lab, from: Host, ip: string): Promise<{ ms: number; seq: number }> {
  // -c 1 with -w: ping sends every 2 ms until one reply (or the deadline), and times each reply from its request.
  const args = ['-n', '-c', '1', '-w', '5', '-i', String(FIRST_PING_INTERVAL_MS / 1000), ip];
  const r = await lab.exec(from, 'ping', args, { check: false, timeoutMs: 10_000 });
  const m = /icmp_seq=(\d+) .*time=([\d.]+) ms/.exec(r.stdout);
  if (m === null) throw new Error(`no reply from ${ip}:\n${r.stdout}${r.stderr}\n${lab.logTails()}`);
  const seq = Number(m[1]);
  return { ms: (seq - 1) * FIRST_PING_INTERVAL_MS + Number(m[2]), seq };
}

/** CPU time a process has run so far, all its threads, in ms (the scheduler's nanosecond count, not ticks). */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e6;
}

async function firstRun(): Promise<string[]> {
  const lhLab = await LighthouseLab.create();
  const runs = allRuns();
  const samples = new Map<string, number[]>(runs.map(([label]) => [label, []]));
  // CPU ms a and b spent on the first contact (from just before the ping to its reply): load-proof, unlike the time.
  const cpu = new Map<string, number[]>(runs.map(([label]) => [label, []]));
  try {
    for (let t = 1; t <= trials; t++) {
      for (const [label, impl, env] of runs) {
        try {
          await lhLab.start(impl, 'lh', true, env);
          const b = await lhLab.start(impl, 'b', true, env);
          const a = await lhLab.start(impl, 'a', true, env);
          await sleep(settleMs); // a and b handshake the lighthouse and report their addresses
          const before = cpuMs(a.pid) + cpuMs(b.pid);
          const { ms, seq } = await firstContact(lhLab.lab, lhLab.hosts.a, LH_OVERLAY.b);
          const used = cpuMs(a.pid) + cpuMs(b.pid) - before;
          samples.get(label)?.push(ms);
          cpu.get(label)?.push(used);
          console.error(
            `  first ${label} trial ${t}: ${ms.toFixed(2)} ms (reply to request ${seq}), a+b CPU ${used.toFixed(2)} ms`,
          );
        } finally {
          await lhLab.stopAll();
        }
      }
    }
  } finally {
    await lhLab.destroy();
  }
  return runs.map(([label]) => {
    const ms = samples.get(label) ?? [];
    const range = `${median(ms).toFixed(2)} | ${Math.min(...ms).toFixed(2)} | ${Math.max(...ms).toFixed(2)}`;
    return `| ${label} | ${range} | ${median(cpu.get(label) ?? []).toFixed(2)} |`;
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab needs network namespaces');
  console.error(`latency: ${pings} pings, ${trials} cold trials per implementation`);
  if (parts.includes('rtt')) {
    const rttLines = await rttRun();
    console.log(['| overlay RTT | ping every ms | median ms | p99 ms |', '|---|---|---|---|', ...rttLines].join('\n'));
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
