// Throughput, mesh against nebula 1.6.1 in the same run: `node dist/bench/throughput.js [options]` as root.
//
// Two hosts on one veth pair (bench-lab.ts), overlay MTU 1300, identical certificates and config files. Each round
// runs every implementation in turn, each freshly started, in the order nebula, mesh, variants in odd rounds and the
// reverse in even ones (a load trend on the shared machine then falls on both sides alike):
//   - TCP: iperf3 a -> b through the overlay for --seconds, receiver goodput; CPU seconds of both daemons per GB
//   - UDP: iperf3 at each fixed offered load in --udp (Mbit/s), 1200-byte datagrams, what arrived and the loss
// and once per run the raw veth (TCP and the same UDP loads without any overlay), the physical limit.
//
// Options: --rounds N (2)  --seconds S (10)  --udp 300,600  --cipher aes|chachapoly
//          --variant name:KEY=VAL[,KEY=VAL]  an extra mesh run with this environment (e.g. mesh-dgram:MESH_UDP=dgram)
//          --only mesh,nebula,<variant>  run just these   --parallel N  TCP flows at once (iperf3 -P; 1)
//          --loss P  the underlay drops P% of packets each way (nftables ingress on both ends, GSO off; TCP under loss)
//          --pps 64,1300  UDP packets per second at each IP packet size (bench/pps.ts: iperf3 -b 0, sent and received
//                   pps, CPU of both daemons per million packets), after the TCP and UDP parts on the same daemons
//          --pps-only  skip TCP and the fixed-load UDP (with --pps)
//          --diag   after each TCP run: both daemons' drop/handshake/tunnel counters, the kernel's UDP/TCP counters
//                   that grew, the TUNs' errors; the sender's `ss -ti` during the run (bench/tcp-diag.ts)
//          --lose-syn  b drops every second SYN to iperf3 (after the tunnel): each connection's first SYN is
//                   lost and retransmitted, as happens to some connections at --loss 20
//          --ipv6   also 'mesh-dual': mesh with dual-stack v2 certificates (bench-lab.ts), TCP over the overlay's IPv4
//                   and its IPv6 addresses on the same tunnel, back to back (order alternating by round), printed
//                   side by side with the IPv6/IPv4 ratio (issue 18's goal: IPv6 within 10% of IPv4). mesh only:
//                   nebula 1.6.1 has no IPv6 overlay.
// mesh seals and opens with the addon's AEAD when it is built (pkg/noise/session-aead.ts); to compare with
// node:crypto in the same run: --variant mesh-nodecrypto:MESH_AEAD=node

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import { OVERLAY, PairLab, parseVariant, UNDERLAY, type ImplName } from './bench-lab.js';
import type { TcpResult } from './iperf.js';
import { iperfTcp, iperfUdp, type UdpResult } from './iperf.js';
import { fmtPps, measurePps, ppsReport, type PpsResult } from './pps.js';
import { cpuTimes, median, type CpuTimes } from './proc-stats.js';
import * as tcpDiag from './tcp-diag.js';

interface Variant {
  label: string;
  impl: ImplName;
  env?: NodeJS.ProcessEnv;
  /** Dual-stack certificates; TCP measured over IPv4 and IPv6. */
  dual?: boolean;
}

interface FamilyTcp {
  family: 4 | 6;
  mbit: number;
  retransmits: number;
  cpuSecPerGb: number;
}

interface RunResult {
  label: string;
  round: number;
  tcpMbit: number;
  retransmits: number;
  cpuSecPerGb: number;
  udp: UdpResult[];
  /** --pps: one flood per packet size. */
  pps: PpsResult[];
  /** A dual-stack run: both families, in the order measured. */
  families?: FamilyTcp[];
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    udp: { type: 'string', default: '300,600' },
    cipher: { type: 'string', default: 'aes' },
    variant: { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    parallel: { type: 'string', default: '1' },
    loss: { type: 'string', default: '0' },
    ipv6: { type: 'boolean', default: false },
    pps: { type: 'string', default: '' },
    'pps-only': { type: 'boolean', default: false },
    diag: { type: 'boolean', default: false },
    'lose-syn': { type: 'boolean', default: false },
  },
});

const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const udpLoads = values.udp.split(',').filter(Boolean).map(Number);
const cipher = values.cipher === 'chachapoly' ? 'chachapoly' : 'aes';
const parallel = Math.max(1, Number(values.parallel) || 1);
const lossPercent = Math.max(0, Number(values.loss) || 0);
const ppsSizes = values.pps.split(',').filter(Boolean).map(Number);
const ppsOnly = values['pps-only'] && ppsSizes.length > 0;
const diag = values.diag;

function variants(): Variant[] {
  const all: Variant[] = [
    { label: 'nebula', impl: 'nebula' },
    { label: 'mesh', impl: 'mesh' },
    ...values.variant.map((spec): Variant => {
      const [label, env] = parseVariant(spec);
      return { label, impl: 'mesh', env };
    }),
    ...(values.ipv6 ? [{ label: 'mesh-dual', impl: 'mesh', dual: true } satisfies Variant] : []),
  ];
  const only = values.only?.split(',');
  return only ? all.filter((v) => only.includes(v.label)) : all;
}

/** The runs of one round: as listed in odd rounds, reversed in even ones. */
function roundOrder<T>(runs: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...runs] : [...runs].reverse();
}

/** TCP a -> b over each family on one running dual-stack pair, IPv4 first in odd rounds, IPv6 first in even ones. */
async function runDual(pair: PairLab, v: Variant, round: number): Promise<RunResult> {
  const { a, b } = await pair.start(v.impl, v.env, { dualStack: true });
  const targets = { 4: OVERLAY.b, 6: pair.dual!.overlay6.b } as const;
  const order: Array<4 | 6> = round % 2 === 1 ? [4, 6] : [6, 4];
  const families: FamilyTcp[] = [];
  for (const family of order) {
    const before = cpuTimes(a.pid).user + cpuTimes(a.pid).system + cpuTimes(b.pid).user + cpuTimes(b.pid).system;
    const tcp: TcpResult = await iperfTcp(pair.lab, pair.a, pair.b, targets[family], seconds);
    const after = cpuTimes(a.pid).user + cpuTimes(a.pid).system + cpuTimes(b.pid).user + cpuTimes(b.pid).system;
    families.push({
      family,
      mbit: tcp.mbitPerSec,
      retransmits: tcp.retransmits,
      cpuSecPerGb: (after - before) / (tcp.bytes / 1e9),
    });
  }
  await pair.stop();
  const v4 = families.find((f) => f.family === 4)!;
  const v6 = families.find((f) => f.family === 6)!;
  console.error(
    `  round ${round} ${v.label}: tcp IPv4 ${v4.mbit.toFixed(0)} Mbit/s (${v4.cpuSecPerGb.toFixed(2)} CPU s/GB), IPv6 ${v6.mbit.toFixed(0)} Mbit/s (${v6.cpuSecPerGb.toFixed(2)} CPU s/GB), v6/v4 ${(v6.mbit / v4.mbit).toFixed(2)}`,
  );
  return {
    label: v.label,
    round,
    tcpMbit: v4.mbit,
    retransmits: v4.retransmits,
    cpuSecPerGb: v4.cpuSecPerGb,
    udp: [],
    pps: [],
    families,
  };
}

async function runOnce(pair: PairLab, v: Variant, round: number): Promise<RunResult> {
  if (v.dual === true) return runDual(pair, v, round);
  const { a, b } = await pair.start(v.impl, v.env);
  const before = [cpuTimes(a.pid), cpuTimes(b.pid)];
  if (diag) for (const h of [pair.a, pair.b]) await tcpDiag.resetKernelCounters(pair.lab, h);
  const sockets = diag ? sampleSender(pair) : Promise.resolve([]);
  const tcp: TcpResult = ppsOnly
    ? { mbitPerSec: NaN, bytes: NaN, retransmits: NaN }
    : await iperfTcp(pair.lab, pair.a, pair.b, OVERLAY.b, seconds, parallel);
  const after = [cpuTimes(a.pid), cpuTimes(b.pid)];
  if (diag) {
    console.error(
      `  round ${round} ${v.label} tcp ${tcp.mbitPerSec.toFixed(0)} Mbit/s over the receiver's ${tcp.receiverSeconds?.toFixed(2)} s (sender's ${tcp.senderSeconds?.toFixed(2)} s: ${((tcp.bytes * 8) / 1e6 / (tcp.senderSeconds ?? NaN)).toFixed(0)} Mbit/s), sender sockets:`,
    );
    for (const s of await sockets) console.error(`    ${s}`);
    console.error(`   a:\n${await tcpDiag.report(pair.lab, pair.a, 'bencha')}`);
    console.error(`   b:\n${await tcpDiag.report(pair.lab, pair.b, 'benchb')}`);
  }
  const used = (i: number, k: keyof CpuTimes) => after[i][k] - before[i][k];
  const cpu = used(0, 'user') + used(0, 'system') + used(1, 'user') + used(1, 'system');
  const gb = tcp.bytes / 1e9;
  const split = `a ${(used(0, 'user') / gb).toFixed(1)}u+${(used(0, 'system') / gb).toFixed(1)}s, b ${(used(1, 'user') / gb).toFixed(1)}u+${(used(1, 'system') / gb).toFixed(1)}s`;
  const udp: UdpResult[] = [];
  for (const load of ppsOnly ? [] : udpLoads)
    udp.push(await iperfUdp(pair.lab, pair.a, pair.b, OVERLAY.b, load, Math.min(seconds, 5)));
  const pps: PpsResult[] = [];
  for (const size of ppsSizes) pps.push(await measurePps(pair, OVERLAY.b, size, seconds, [a.pid, b.pid]));
  await pair.stop();
  const result = {
    label: v.label,
    round,
    tcpMbit: tcp.mbitPerSec,
    retransmits: tcp.retransmits,
    cpuSecPerGb: cpu / gb,
    udp,
    pps,
  };
  console.error(
    `  round ${round} ${v.label}: ${ppsOnly ? '' : `tcp ${tcp.mbitPerSec.toFixed(0)} Mbit/s, ${result.cpuSecPerGb.toFixed(2)} CPU s/GB (${split}), udp ${udp.map(fmtUdp).join(' ')}`}${pps.length > 0 ? `, pps ${pps.map(fmtPps).join('; ')}` : ''}`,
  );
  return result;
}

/** --diag: `ss -ti` of the iperf3 sender's busiest socket every half second while the TCP run lasts. */
async function sampleSender(pair: PairLab): Promise<string[]> {
  const samples: string[] = [];
  for (let i = 1; i <= 2 * seconds + 8; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const line = await tcpDiag.senderSockets(pair.lab, pair.a);
    if (line === '') break;
    samples.push(`t=${i / 2}s ${line}`);
  }
  return samples;
}

function fmtUdp(u: UdpResult): string {
  return `${u.offeredMbit}M->${u.receivedMbit.toFixed(0)}M (${u.lossPercent.toFixed(2)}% lost)`;
}

interface RawVeth {
  tcpMbit: number;
  udp: UdpResult[];
  pps: PpsResult[];
}

async function rawVeth(pair: PairLab): Promise<RawVeth> {
  await pair.stop();
  const tcp = ppsOnly ? null : await iperfTcp(pair.lab, pair.a, pair.b, UNDERLAY.b, seconds, parallel);
  const udp: UdpResult[] = [];
  for (const load of ppsOnly ? [] : udpLoads)
    udp.push(await iperfUdp(pair.lab, pair.a, pair.b, UNDERLAY.b, load, Math.min(seconds, 5)));
  const pps: PpsResult[] = [];
  for (const size of ppsSizes) pps.push(await measurePps(pair, UNDERLAY.b, size, seconds, []));
  return { tcpMbit: tcp?.mbitPerSec ?? NaN, udp, pps };
}

function report(results: RunResult[], raw: RawVeth): void {
  if (ppsSizes.length > 0) console.log(`${ppsReport(results, ppsSizes, raw.pps)}\n`);
  if (ppsOnly) return;
  const labels = [...new Set(results.map((r) => r.label))];
  const lines: string[] = [];
  lines.push(
    `| round | impl | TCP Mbit/s | vs nebula | retrans | CPU s/GB | ${udpLoads.map((l) => `UDP ${l}M: got Mbit/s (loss)`).join(' | ')} |`,
  );
  lines.push(`|---|---|---|---|---|---|${udpLoads.map(() => '---').join('|')}|`);
  for (const r of results) {
    const neb = results.find((x) => x.round === r.round && x.label === 'nebula');
    const ratio = neb ? (r.tcpMbit / neb.tcpMbit).toFixed(2) : '';
    const udp = (r.udp.length > 0 ? r.udp : udpLoads.map(() => null))
      .map((u) => (u === null ? '-' : `${u.receivedMbit.toFixed(0)} (${u.lossPercent.toFixed(2)}%)`))
      .join(' | ');
    lines.push(
      `| ${r.round} | ${r.label} | ${r.tcpMbit.toFixed(0)} | ${ratio} | ${r.retransmits} | ${r.cpuSecPerGb.toFixed(2)} | ${udp} |`,
    );
  }
  for (const label of labels) {
    const mine = results.filter((r) => r.label === label);
    const neb = results.filter((r) => r.label === 'nebula');
    const ratio = neb.length ? (median(mine.map((r) => r.tcpMbit)) / median(neb.map((r) => r.tcpMbit))).toFixed(2) : '';
    const udp = udpLoads
      .map((_, i) => {
        if (mine.some((r) => r.udp.length === 0)) return '-';
        const got = median(mine.map((r) => r.udp[i].receivedMbit));
        const loss = median(mine.map((r) => r.udp[i].lossPercent));
        return `${got.toFixed(0)} (${loss.toFixed(2)}%)`;
      })
      .join(' | ');
    lines.push(
      `| median | ${label} | ${median(mine.map((r) => r.tcpMbit)).toFixed(0)} | ${ratio} | ${median(mine.map((r) => r.retransmits))} | ${median(mine.map((r) => r.cpuSecPerGb)).toFixed(2)} | ${udp} |`,
    );
  }
  const rawUdp = raw.udp.map((u) => `${u.receivedMbit.toFixed(0)} (${u.lossPercent.toFixed(2)}%)`).join(' | ');
  lines.push(`| - | raw veth | ${raw.tcpMbit.toFixed(0)} | | | | ${rawUdp} |`);
  console.log(lines.join('\n'));
  const dual = results.filter((r) => r.families !== undefined);
  if (dual.length > 0) console.log(`\n${familyReport(dual)}`);
}

/** IPv6 next to IPv4, per round and median, from the dual-stack runs (same daemons, same tunnel). */
function familyReport(dual: RunResult[]): string {
  const of = (r: RunResult, family: 4 | 6) => r.families!.find((f) => f.family === family)!;
  const lines = [
    '| round | mesh-dual | TCP IPv4 Mbit/s | TCP IPv6 Mbit/s | IPv6/IPv4 | CPU s/GB IPv4 | CPU s/GB IPv6 | retrans v4/v6 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of dual) {
    const [v4, v6] = [of(r, 4), of(r, 6)];
    const first = r.families![0]!.family;
    lines.push(
      `| ${r.round} | IPv${first} first | ${v4.mbit.toFixed(0)} | ${v6.mbit.toFixed(0)} | ${(v6.mbit / v4.mbit).toFixed(2)} | ${v4.cpuSecPerGb.toFixed(2)} | ${v6.cpuSecPerGb.toFixed(2)} | ${v4.retransmits}/${v6.retransmits} |`,
    );
  }
  const m4 = median(dual.map((r) => of(r, 4).mbit));
  const m6 = median(dual.map((r) => of(r, 6).mbit));
  const c4 = median(dual.map((r) => of(r, 4).cpuSecPerGb));
  const c6 = median(dual.map((r) => of(r, 6).cpuSecPerGb));
  lines.push(
    `| median | | ${m4.toFixed(0)} | ${m6.toFixed(0)} | ${(m6 / m4).toFixed(2)} | ${c4.toFixed(2)} | ${c6.toFixed(2)} | |`,
  );
  lines.push(
    `IPv6 TCP ${m6 >= 0.9 * m4 ? 'is' : 'is NOT'} within 10% of IPv4 (goal of issue 18): ${((m6 / m4 - 1) * 100).toFixed(1)}%`,
  );
  return lines.join('\n');
}

/** The machine's load (1, 5, 15 minutes): figures from this shared 2-core machine mean little without it. */
function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab needs network namespaces');
  const pair = await PairLab.create({ cipher, ipv6: values.ipv6 });
  try {
    if (diag) for (const c of [pair.configs.a, pair.configs.b]) tcpDiag.enableStats(c);
    if (values['lose-syn']) await tcpDiag.loseEverySecondSyn(pair.lab, pair.b);
    if (lossPercent > 0) {
      // nftables, not netem (this kernel has no sch_netem): each end drops a random P% of the packets arriving on its
      // eth0. Dropped as they come off the wire: with GSO on, one dropped skb would be tens of segments at once (a
      // UDP GSO batch, a TSO burst), which no real link does, so both ends hand the veth single packets.
      const perTenThousand = String(Math.round(lossPercent * 100));
      for (const h of [pair.a, pair.b]) {
        await pair.lab.exec(h, 'ip', ['link', 'set', 'dev', 'eth0', 'gso_max_segs', '1']);
        await pair.lab.exec(h, 'nft', ['add', 'table', 'netdev', 'benchloss']);
        await pair.lab.exec(h, 'nft', [
          'add',
          'chain',
          'netdev',
          'benchloss',
          'in',
          '{',
          'type',
          'filter',
          'hook',
          'ingress',
          'device',
          'eth0',
          'priority',
          '0',
          ';',
          '}',
        ]);
        await pair.lab.exec(h, 'nft', [
          'add',
          'rule',
          'netdev',
          'benchloss',
          'in',
          'numgen',
          'random',
          'mod',
          '10000',
          '<',
          perTenThousand,
          'drop',
        ]);
      }
    }
    console.error(
      `throughput: ${rounds} rounds, ${ppsOnly ? 'no TCP, no fixed-load UDP' : `TCP ${seconds} s x ${parallel} flow(s), UDP ${udpLoads.join('/') || '-'} Mbit/s`}, ${lossPercent}% underlay loss, pps at ${ppsSizes.join('/') || '-'} bytes, cipher ${cipher}, ${loadAverage()}`,
    );
    const results: RunResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const v of roundOrder(variants(), round)) {
        try {
          results.push(await runOnce(pair, v, round));
        } catch (err) {
          // At --loss 20 iperf3's own control connection sometimes never finishes the test: one lost round, not
          // the whole comparison.
          if (lossPercent === 0) throw err;
          console.error(`  round ${round} ${v.label}: failed (${(err as Error).message.split('\n')[0]})`);
        }
      }
    }
    const raw = await rawVeth(pair);
    report(results, raw);
    console.log(`\n${loadAverage()} at the end`);
  } finally {
    await pair.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
