// The lighthouse load generator's process (bench/lh-load.ts starts it in a lab namespace, pinned to its own core):
// N simulated nodes (bench/lh-load-fleet.ts) join one lighthouse, then update and query it for a while.
//
//   node dist/bench/lh-load-gen.js SPEC.json     prints one JSON line: LoadResult
//
// 1. join: stage 1s go out with at most `window` handshakes unanswered at a time (resent after 2 s, as a node
//    does); the rate is stage 2s received per second from the first stage 1 to the last stage 2, and the
//    lighthouse's CPU over the same span divided by the handshakes. Each node reads its stage 2 and sends its
//    first update as soon as the generator gets to it (receives first).
// 2. steady: every node sends a HostUpdateNotification every `updateIntervalMs` (from when its tunnel came up,
//    through the join too), and `queriesPerSec` HostQuery go out from random nodes about random other nodes; reply latency per query,
//    unanswered after `queryTimeoutMs`, the lighthouse's CPU share and RSS, its liveness test requests.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { AeadCipher } from '../pkg/noise/aead.js';
import { testCaFrom } from '../test/unit/helpers/pki.js';
import { Fleet, type SimNode } from './lh-load-fleet.js';
import { anonRssMb, cpuSeconds, cpuTimes, quantile, rssMb } from './proc-stats.js';

export interface LoadSpec {
  caPem: string;
  caKeyHex: string;
  cipher: AeadCipher;
  lighthouse: { vpnIp: string; ip: string; port: number; pid: number };
  firstVpnIp: string;
  prefix: number;
  sourceIps: string[];
  basePort: number;
  nodes: number;
  /** Open files this process may use for sockets (RLIMIT_NOFILE less a margin). */
  maxSockets: number;
  window: number;
  updateIntervalMs: number;
  steadyMs: number;
  queriesPerSec: number;
  queryTimeoutMs: number;
  /**
   * --perf-steady: `perf record -g` of the lighthouse's main thread (tid = pid) for the steady phase into this
   * file (perf report reads it; with --perf-basic-prof in a --variant, JIT frames are named).
   */
  perfOut?: string;
  /** Every thread of the lighthouse in perfOut (nebula: Go runs its work on any thread), not only tid = pid. */
  perfAllThreads?: boolean;
  /**
   * --perf-join: `perf record -g` of every thread of the lighthouse (V8's GC helpers and node's crypto run off the
   * main thread too) from the first stage 1 to the last stage 2, into this file.
   */
  perfJoinOut?: string;
  /** perf record's sampling options for perfJoinOut instead of `-g` (e.g. `--call-graph=dwarf,16384 -F 1000`). */
  perfJoinArgs?: string[];
}

export interface LoadResult {
  nodes: number;
  up: number;
  joinMs: number;
  handshakesPerSec: number;
  resent: number;
  lhCpuUsPerHandshake: number;
  rssAfterJoinMiB: number;
  steadyCpuPct: number;
  /**
   * Of steadyCpuPct: the kernel's part (system time), and the thread with tid = pid's: for mesh its main thread
   * (JavaScript, GC on it, its syscalls); for nebula no particular work (Go schedules goroutines on any thread).
   */
  steadySysPct: number;
  steadyMainThreadPct: number;
  rssMiB: number;
  /**
   * Of rssMiB, the anonymous part (heaps, malloc): the rest is the executable's and libraries' pages, shared and
   * clean (node's binary: ~40 MiB of a lighthouse's RSS, Nebula's ~10).
   */
  anonMiB: number;
  updates: number;
  queries: number;
  replyP50Ms: number;
  replyP99Ms: number;
  replyMaxMs: number;
  unanswered: number;
  /** Liveness test requests from the lighthouse per tunnel per minute in the steady phase. */
  testRequestsPerTunnelMin: number;
  punchNotifications: number;
  acks: number;
  lateReplies: number;
  otherPackets: number;
  badPackets: number;
  createMs: number;
  nodesPerSocket: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function join(fleet: Fleet, spec: LoadSpec): Promise<{ ms: number; cpuS: number }> {
  const pending = new Set<SimNode>();
  let next = 0;
  let lastAnswerAt = 0;
  const perf = spec.perfJoinOut
    ? spawn(
        'perf',
        ['record', '-q', ...(spec.perfJoinArgs ?? ['-g']), '-p', String(spec.lighthouse.pid), '-o', spec.perfJoinOut],
        { stdio: 'ignore' },
      )
    : null;
  // perf attaches to every thread before it records: a handshake sent earlier would not be in the file.
  if (perf) await sleep(500);
  const cpu0 = cpuSeconds(spec.lighthouse.pid);
  let cpuAtLast = cpu0;
  const t0 = performance.now();
  const deadline = t0 + 60_000 + spec.nodes * 5; // bounded: 260 s at 40k
  let answeredSeen = 0;
  let lastResendCheck = t0;
  while (performance.now() < deadline) {
    const now = performance.now();
    if (fleet.stats.answered > answeredSeen) {
      answeredSeen = fleet.stats.answered;
      lastAnswerAt = now;
      cpuAtLast = cpuSeconds(spec.lighthouse.pid);
    }
    const unanswered = next - fleet.stats.answered;
    for (let k = unanswered; k < spec.window && next < spec.nodes; k++) {
      const n = fleet.nodes[next++];
      pending.add(n);
      fleet.startHandshake(n, now);
    }
    if (now - lastResendCheck >= 100) {
      lastResendCheck = now;
      fleet.resendStale(now, pending);
    }
    if (answeredSeen >= spec.nodes) break;
    await sleep(1);
  }
  if (perf) await stopPerf(perf);
  // The stage 2s not read yet (each node then sends its first update).
  await fleet.finishAll();
  return { ms: lastAnswerAt - t0, cpuS: cpuAtLast - cpu0 };
}

/** Ends a perf record (SIGINT makes it write its file) and waits for it, at most 30 s. */
async function stopPerf(perf: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => perf.once('exit', () => r()));
  perf.kill('SIGINT');
  await Promise.race([exited, sleep(30_000)]);
}

/** CPU seconds (user + system) of the thread `tid` of `pid`: the main thread when tid = pid. */
function threadCpuSeconds(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
}

async function steady(
  fleet: Fleet,
  spec: LoadSpec,
): Promise<{ cpuPct: number; sysPct: number; mainThreadPct: number }> {
  const up = fleet.nodes.filter((n) => n.phase === 'up');
  const perTickQueries = (spec.queriesPerSec * 10) / 1000;
  let queryCredit = 0;
  fleet.stats = Fleet.emptyStats();
  const pid = spec.lighthouse.pid;
  const [cpu0, sys0, main0] = [cpuSeconds(pid), cpuTimes(pid).system, threadCpuSeconds(pid, pid)];
  const perf = spec.perfOut
    ? spawn('perf', ['record', '-q', '-g', spec.perfAllThreads ? '-p' : '-t', String(pid), '-o', spec.perfOut], {
        stdio: 'ignore',
      })
    : null;
  const t0 = performance.now();
  let lastQueryTick = t0;
  while (performance.now() - t0 < spec.steadyMs) {
    const now = performance.now();
    if (now - lastQueryTick >= 10) {
      queryCredit += (perTickQueries * (now - lastQueryTick)) / 10;
      lastQueryTick = now;
      for (; queryCredit >= 1; queryCredit--) {
        const from = up[Math.floor(Math.random() * up.length)];
        let to = up[Math.floor(Math.random() * up.length)];
        if (to === from) to = up[(to.id + 1) % up.length];
        fleet.sendQuery(from, to.vpnIp);
      }
      fleet.expireQueries(spec.queryTimeoutMs);
    }
    await sleep(2);
  }
  const [cpuS, sysS, mainS] = [cpuSeconds(pid) - cpu0, cpuTimes(pid).system - sys0, threadCpuSeconds(pid, pid) - main0];
  const ms = performance.now() - t0;
  if (perf) await stopPerf(perf);
  // Let the last queries come back (or time out) before counting.
  await sleep(spec.queryTimeoutMs);
  fleet.expireQueries(0);
  const pct = (seconds: number): number => (100 * seconds * 1000) / ms;
  return { cpuPct: pct(cpuS), sysPct: pct(sysS), mainThreadPct: pct(mainS) };
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as LoadSpec;
  const ca = testCaFrom(spec.caPem, Buffer.from(spec.caKeyHex, 'hex'));
  const fleet = new Fleet({
    ca,
    cipher: spec.cipher,
    lighthouse: spec.lighthouse,
    firstVpnIp: spec.firstVpnIp,
    prefix: spec.prefix,
    sourceIps: spec.sourceIps,
    basePort: spec.basePort,
    nodesPerSocket: Math.ceil(spec.nodes / spec.maxSockets),
    updateIntervalMs: spec.updateIntervalMs,
  });
  const c0 = performance.now();
  await fleet.create(spec.nodes);
  const createMs = performance.now() - c0;
  // Updates run from each node's handshake on, through the join and the steady phase.
  const updates = setInterval(() => fleet.sendDueUpdates(performance.now()), 20);
  const j = await join(fleet, spec);
  const up = fleet.nodes.filter((n) => n.phase === 'up').length;
  const joinStats = fleet.stats;
  const rssAfterJoinMiB = rssMb(spec.lighthouse.pid);
  await sleep(1000);
  const s = await steady(fleet, spec);
  const st = fleet.stats;
  const result: LoadResult = {
    nodes: spec.nodes,
    up,
    joinMs: Math.round(j.ms),
    handshakesPerSec: Math.round((joinStats.answered * 1000) / j.ms),
    resent: joinStats.resent,
    lhCpuUsPerHandshake: Math.round((j.cpuS * 1e6) / Math.max(1, joinStats.answered)),
    rssAfterJoinMiB: Math.round(rssAfterJoinMiB),
    steadyCpuPct: Number(s.cpuPct.toFixed(1)),
    steadySysPct: Number(s.sysPct.toFixed(1)),
    steadyMainThreadPct: Number(s.mainThreadPct.toFixed(1)),
    rssMiB: Math.round(rssMb(spec.lighthouse.pid)),
    anonMiB: Math.round(anonRssMb(spec.lighthouse.pid)),
    updates: st.updates,
    queries: st.queries,
    replyP50Ms: Number(quantile(st.replyMs, 0.5).toFixed(2)),
    replyP99Ms: Number(quantile(st.replyMs, 0.99).toFixed(2)),
    replyMaxMs: Number(quantile(st.replyMs, 1).toFixed(2)),
    unanswered: st.unanswered,
    testRequestsPerTunnelMin: Number(((st.testRequests / Math.max(1, up)) * (60_000 / spec.steadyMs)).toFixed(3)),
    punchNotifications: st.punchNotifications,
    acks: st.acks,
    lateReplies: st.lateReplies,
    otherPackets: st.otherPackets,
    badPackets: st.badPackets + joinStats.badPackets,
    createMs: Math.round(createMs),
    nodesPerSocket: Math.ceil(spec.nodes / spec.maxSockets),
  };
  console.log(JSON.stringify(result));
  clearInterval(updates);
  fleet.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
