// The tier benchmark's load generator (bench/lh-tier.ts starts it in a lab namespace, pinned to its own core): one
// fleet of simulated nodes (bench/lh-load-fleet.ts) per lighthouse, each node talking to its own fleet's lighthouse
// only. With one fleet it is the single-lighthouse baseline; with three, a tier sharing what it knows through NATS
// (docs/lighthouse-tier.md). Both run through this same code, so the two rows differ only in the lighthouse side.
//
//   node dist/bench/lh-tier-gen.js SPEC.json     prints one JSON line: TierResult
//
// 1. join: every fleet handshakes with its lighthouse at once, the window (handshakes unanswered) split evenly
//    across fleets, so the lighthouse side sees the same offered concurrency in both modes. Updates start per node
//    as soon as its tunnel is up and continue every `updateIntervalMs`.
// 2. settle: `settleMs` for the records to reach the bucket and the other lighthouses' caches.
// 3. steady: `queriesPerSec` HostQuery from random nodes of any fleet about random other nodes of any fleet (with
//    three fleets, two thirds are about a host another lighthouse serves: answered from the tier's cache). Each
//    reply's latency is split into local (the asker's lighthouse serves the target) and tier (another one does).

import { readFileSync } from 'node:fs';

import type { AeadCipher } from '../pkg/noise/aead.js';
import { parseIpv4 } from '../pkg/ip/ipv4.js';
import { testCaFrom } from '../test/unit/helpers/pki.js';
import { Fleet, type FleetStats, type SimNode } from './lh-load-fleet.js';
import { cpuSeconds, quantile, rssMb } from './proc-stats.js';

export interface TierFleetSpec {
  lighthouse: { name: string; vpnIp: string; ip: string; port: number; pid: number };
  firstVpnIp: string;
  sourceIps: string[];
  nodes: number;
}

export interface TierSpec {
  caPem: string;
  caKeyHex: string;
  cipher: AeadCipher;
  prefix: number;
  basePort: number;
  fleets: TierFleetSpec[];
  /** Other processes of the lighthouse side whose CPU and RSS are reported (the nats-server). */
  others: Array<{ name: string; pid: number }>;
  /** Open files this process may use for sockets, all fleets together (RLIMIT_NOFILE less a margin). */
  maxSockets: number;
  /** Handshakes unanswered at a time, all fleets together. */
  window: number;
  updateIntervalMs: number;
  settleMs: number;
  steadyMs: number;
  queriesPerSec: number;
  queryTimeoutMs: number;
}

export interface ProcessFigures {
  name: string;
  /** Nodes whose tunnel to this lighthouse came up (absent for the nats-server). */
  up?: number;
  joinCpuS: number;
  steadyCpuPct: number;
  rssMiB: number;
}

export interface LatencyFigures {
  answered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface TierResult {
  nodes: number;
  up: number;
  joinMs: number;
  resent: number;
  steadyMs: number;
  queries: number;
  answered: number;
  answeredPerSec: number;
  unanswered: number;
  emptyReplies: number;
  lateReplies: number;
  all: LatencyFigures;
  local: LatencyFigures;
  tier: LatencyFigures;
  /** HostPunchNotifications the targets received in the steady phase (a tier query's punch crosses NATS). */
  punchNotifications: number;
  updates: number;
  badPackets: number;
  processes: ProcessFigures[];
  genCpuPct: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface FleetRun {
  spec: TierFleetSpec;
  fleet: Fleet;
  first: number;
  next: number;
  pending: Set<SimNode>;
}

async function join(runs: FleetRun[], spec: TierSpec): Promise<{ ms: number }> {
  const window = Math.max(1, Math.ceil(spec.window / runs.length));
  const total = runs.reduce((s, r) => s + r.spec.nodes, 0);
  const t0 = performance.now();
  const deadline = t0 + 60_000 + total * 5; // bounded: 110 s at 10k
  let lastAnswerAt = t0;
  let answeredSeen = 0;
  let lastResendCheck = t0;
  while (performance.now() < deadline) {
    const now = performance.now();
    const answered = runs.reduce((s, r) => s + r.fleet.stats.answered, 0);
    if (answered > answeredSeen) {
      answeredSeen = answered;
      lastAnswerAt = now;
    }
    for (const r of runs) {
      for (let k = r.next - r.fleet.stats.answered; k < window && r.next < r.spec.nodes; k++) {
        const n = r.fleet.nodes[r.next++];
        r.pending.add(n);
        r.fleet.startHandshake(n, now);
      }
    }
    if (now - lastResendCheck >= 100) {
      lastResendCheck = now;
      for (const r of runs) r.fleet.resendStale(now, r.pending);
    }
    if (answeredSeen >= total) break;
    await sleep(1);
  }
  for (const r of runs) await r.fleet.finishAll();
  return { ms: lastAnswerAt - t0 };
}

function latency(ms: number[]): LatencyFigures {
  const r = (v: number): number => Number(v.toFixed(2));
  return {
    answered: ms.length,
    p50Ms: r(quantile(ms, 0.5)),
    p99Ms: r(quantile(ms, 0.99)),
    maxMs: r(quantile(ms, 1)),
  };
}

async function steady(runs: FleetRun[], spec: TierSpec): Promise<{ ms: number }> {
  // Every node that is up, with the index of its fleet: queries go from any of them about any other.
  const up: Array<{ run: FleetRun; node: SimNode }> = [];
  for (const run of runs) for (const node of run.fleet.nodes) if (node.phase === 'up') up.push({ run, node });
  if (up.length < 2) throw new Error(`only ${up.length} nodes up: nothing to query`);
  const perMs = spec.queriesPerSec / 1000;
  let credit = 0;
  const t0 = performance.now();
  let last = t0;
  while (performance.now() - t0 < spec.steadyMs) {
    const now = performance.now();
    if (now - last >= 10) {
      credit += perMs * (now - last);
      last = now;
      for (; credit >= 1; credit--) {
        const from = Math.floor(Math.random() * up.length);
        let to = Math.floor(Math.random() * (up.length - 1));
        if (to >= from) to++;
        up[from].run.fleet.sendQuery(up[from].node, up[to].node.vpnIp);
      }
      for (const r of runs) r.fleet.expireQueries(spec.queryTimeoutMs);
    }
    await sleep(2);
  }
  return { ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as TierSpec;
  const ca = testCaFrom(spec.caPem, Buffer.from(spec.caKeyHex, 'hex'));
  const total = spec.fleets.reduce((s, f) => s + f.nodes, 0);
  const runs: FleetRun[] = spec.fleets.map((f) => ({
    spec: f,
    fleet: new Fleet({
      ca,
      cipher: spec.cipher,
      lighthouse: f.lighthouse,
      firstVpnIp: f.firstVpnIp,
      prefix: spec.prefix,
      sourceIps: f.sourceIps,
      basePort: spec.basePort,
      nodesPerSocket: Math.ceil(total / spec.maxSockets),
      updateIntervalMs: spec.updateIntervalMs,
    }),
    first: parseIpv4(f.firstVpnIp),
    next: 0,
    pending: new Set(),
  }));
  for (const r of runs) await r.fleet.create(r.spec.nodes);
  const updates = setInterval(() => {
    const now = performance.now();
    for (const r of runs) r.fleet.sendDueUpdates(now);
  }, 20);
  const procs = [
    ...runs.map((r) => ({ name: r.spec.lighthouse.name, pid: r.spec.lighthouse.pid, run: r as FleetRun | null })),
    ...spec.others.map((o) => ({ ...o, run: null })),
  ];
  const cpuJ0 = procs.map((p) => cpuSeconds(p.pid));
  const j = await join(runs, spec);
  const cpuJ1 = procs.map((p) => cpuSeconds(p.pid));
  const joinStats = runs.map((r) => r.fleet.stats);
  await sleep(spec.settleMs);
  for (const r of runs) r.fleet.stats = Fleet.emptyStats();
  const cpuS0 = procs.map((p) => cpuSeconds(p.pid));
  const gen0 = process.cpuUsage();
  const s = await steady(runs, spec);
  const cpuS1 = procs.map((p) => cpuSeconds(p.pid));
  const gen1 = process.cpuUsage(gen0);
  const rss = procs.map((p) => rssMb(p.pid));
  // The last queries come back (or time out) before counting.
  await sleep(spec.queryTimeoutMs);
  for (const r of runs) r.fleet.expireQueries(0);
  clearInterval(updates);

  const st: FleetStats[] = runs.map((r) => r.fleet.stats);
  const sum = (f: (x: FleetStats) => number): number => st.reduce((a, x) => a + f(x), 0);
  const allMs: number[] = [];
  const localMs: number[] = [];
  const tierMs: number[] = [];
  // Which fleet serves a target: fleets have disjoint address ranges [first, first + nodes).
  const owner = (target: number): FleetRun | undefined =>
    runs.find((r) => target >= r.first && target < r.first + r.spec.nodes);
  for (const [k, x] of st.entries()) {
    x.replyMs.forEach((ms, i) => {
      allMs.push(ms);
      (owner(x.replyTargets[i]) === runs[k] ? localMs : tierMs).push(ms);
    });
  }
  const result: TierResult = {
    nodes: total,
    up: runs.reduce((a, r) => a + r.fleet.nodes.filter((n) => n.phase === 'up').length, 0),
    joinMs: Math.round(j.ms),
    resent: joinStats.reduce((a, x) => a + x.resent, 0),
    steadyMs: Math.round(s.ms),
    queries: sum((x) => x.queries),
    answered: allMs.length,
    answeredPerSec: Math.round((allMs.length * 1000) / s.ms),
    unanswered: sum((x) => x.unanswered),
    emptyReplies: sum((x) => x.emptyReplies),
    lateReplies: sum((x) => x.lateReplies),
    all: latency(allMs),
    local: latency(localMs),
    tier: latency(tierMs),
    punchNotifications: sum((x) => x.punchNotifications),
    updates: sum((x) => x.updates),
    badPackets: sum((x) => x.badPackets) + joinStats.reduce((a, x) => a + x.badPackets, 0),
    processes: procs.map((p, i) => ({
      name: p.name,
      ...(p.run ? { up: p.run.fleet.nodes.filter((n) => n.phase === 'up').length } : {}),
      joinCpuS: Number((cpuJ1[i] - cpuJ0[i]).toFixed(2)),
      steadyCpuPct: Number(((100 * (cpuS1[i] - cpuS0[i]) * 1000) / s.ms).toFixed(1)),
      rssMiB: Math.round(rss[i]),
    })),
    genCpuPct: Number(((100 * (gen1.user + gen1.system)) / 1000 / s.ms).toFixed(1)),
  };
  console.log(JSON.stringify(result));
  for (const r of runs) r.fleet.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
