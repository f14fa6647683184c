// UDP packets per second through a running pair (throughput.ts --pps): iperf3 a -> b at no rate limit (-b 0) with
// IP packets of each size, what was sent and what arrived per second, and the CPU both daemons spent per million
// packets that arrived. With 2 cores the iperf3 sender, the iperf3 receiver and both daemons share them, so this is
// what a small host can push, not what a daemon alone could.

import type { PairLab } from './bench-lab.js';
import { iperfUdpFlood } from './iperf.js';
import { cpuSeconds, median } from './proc-stats.js';

export interface PpsResult {
  packetBytes: number;
  sentPps: number;
  receivedPps: number;
  lossPercent: number;
  /** CPU seconds of both daemons per million packets received; NaN without daemons (the raw veth). */
  cpuSecPerMpkt: number;
}

export interface PpsRun {
  label: string;
  round: number;
  pps: PpsResult[];
}

/** One flood of `packetBytes`-byte packets a -> b to `toIp`; `daemons` are the pids whose CPU is counted. */
export async function measurePps(
  pair: PairLab,
  toIp: string,
  packetBytes: number,
  seconds: number,
  daemons: readonly number[],
): Promise<PpsResult> {
  const cpu = () => daemons.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = cpu();
  const flood = await iperfUdpFlood(pair.lab, pair.a, pair.b, toIp, packetBytes, seconds);
  const used = cpu() - before;
  return {
    packetBytes,
    sentPps: flood.sentPackets / flood.sentSeconds,
    receivedPps: flood.receivedPackets / flood.receivedSeconds,
    lossPercent: flood.lossPercent,
    cpuSecPerMpkt: daemons.length === 0 ? NaN : used / (flood.receivedPackets / 1e6),
  };
}

export function fmtPps(p: PpsResult): string {
  const cpu = Number.isNaN(p.cpuSecPerMpkt) ? '' : `, ${p.cpuSecPerMpkt.toFixed(2)} CPU s/Mpkt`;
  return `${p.packetBytes} B: sent ${kpps(p.sentPps)} got ${kpps(p.receivedPps)} kpps (${p.lossPercent.toFixed(1)}% lost${cpu})`;
}

function kpps(pps: number): string {
  return (pps / 1000).toFixed(1);
}

/** Per round and median per implementation, received pps against nebula's in the same round. */
export function ppsReport(runs: readonly PpsRun[], sizes: readonly number[], raw: readonly PpsResult[]): string {
  const lines = [
    '| round | impl | IP bytes | sent kpps | received kpps | vs nebula | loss % | CPU s per M packets (both daemons) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const row = (round: string, label: string, p: PpsResult, neb: PpsResult | undefined) =>
    `| ${round} | ${label} | ${p.packetBytes} | ${kpps(p.sentPps)} | ${kpps(p.receivedPps)} | ${
      neb ? (p.receivedPps / neb.receivedPps).toFixed(2) : ''
    } | ${p.lossPercent.toFixed(1)} | ${Number.isNaN(p.cpuSecPerMpkt) ? '' : p.cpuSecPerMpkt.toFixed(2)} |`;
  for (const r of runs) {
    const neb = runs.find((x) => x.round === r.round && x.label === 'nebula');
    lines.push(
      ...r.pps.map((p) =>
        row(
          String(r.round),
          r.label,
          p,
          neb?.pps.find((q) => q.packetBytes === p.packetBytes),
        ),
      ),
    );
  }
  const labels = [...new Set(runs.map((r) => r.label))];
  const medianOf = (label: string, size: number): PpsResult | undefined => {
    const all = runs
      .filter((r) => r.label === label)
      .map((r) => r.pps.find((p) => p.packetBytes === size))
      .filter((p): p is PpsResult => p !== undefined);
    if (all.length === 0) return undefined;
    return {
      packetBytes: size,
      sentPps: median(all.map((p) => p.sentPps)),
      receivedPps: median(all.map((p) => p.receivedPps)),
      lossPercent: median(all.map((p) => p.lossPercent)),
      cpuSecPerMpkt: median(all.map((p) => p.cpuSecPerMpkt)),
    };
  };
  for (const size of sizes) {
    const neb = medianOf('nebula', size);
    for (const label of labels) {
      const m = medianOf(label, size);
      if (m) lines.push(row('median', label, m, neb));
    }
  }
  for (const p of raw) lines.push(row('-', 'raw veth', p, undefined));
  return lines.join('\n');
}
