// A daemon's packets' ways through its process, read from a `perf script -F pid,tid,time,event,trace` of the
// raw_syscalls and exceptions:page_fault_user tracepoints (bench/wake-probe.ts --record): how long from the syscall
// that returned a packet to the one that sent it on, split into the first packet after the process was idle (its
// cold path: caches, TLBs and whatever the process does first on waking) and the ones right after it (warm).

import { median, quantile } from './proc-stats.js';

/** x86-64 syscall numbers of a packet coming in (read, readv, recvfrom, recvmsg, recvmmsg) and going out. */
const PACKET_IN = new Set([0, 19, 45, 47, 299]);
const PACKET_OUT = new Set([1, 20, 44, 46, 307]);
const RECVMMSG = 299;
/** Shorter reads are not packets: the Go runtime's 1-byte wake-up reads, netlink answers (an IPv4 header + ICMP). */
const MIN_PACKET = 28;
/** Longer is not one packet's way through (a read whose packet went nowhere, e.g. a keep-alive answered later). */
const MAX_PATH_S = 0.05;
/** A process idle this long before a packet is woken from idle: its first path is the cold one. */
const IDLE_GAP_S = 0.1;

export interface PacketPath {
  /** From the syscall that returned the packet to the one that sent it on, in us. */
  us: number;
  /** The first packet after IDLE_GAP_S of no packets. */
  cold: boolean;
  /** Page faults of the process between the two. */
  faults: number;
}

/**
 * Every packet's way through process `pid`: the last read that returned a packet, then the write-like syscall that
 * sent some (a TUN write or a UDP send; 8-byte writes are event-fd wake-ups, not packets). Both implementations'
 * processes qualify (nebula reads and writes on several threads; the process is what is followed).
 */
export function packetPaths(script: string, pid: number): PacketPath[] {
  const paths: PacketPath[] = [];
  let inAt = -1;
  let faults = 0;
  let lastPacket = -Infinity;
  let cold = false;
  for (const line of script.split('\n')) {
    const m = /^\s*(\d+)\/\d+\s+([\d.]+):\s+(\S+):\s+(?:NR (\d+)(?: = (-?\d+)|\s+\(\w+,\s*\w+,\s*(\w+)))?/.exec(line);
    if (m === null || Number(m[1]) !== pid) continue;
    const t = Number(m[2]);
    if (m[3] === 'exceptions:page_fault_user') {
      if (inAt >= 0) faults++;
      continue;
    }
    const nr = Number(m[4]);
    if (m[3] === 'raw_syscalls:sys_exit' && PACKET_IN.has(nr) && Number(m[5]) >= (nr === RECVMMSG ? 1 : MIN_PACKET)) {
      cold = t - lastPacket > IDLE_GAP_S;
      inAt = t;
      faults = 0;
    } else if (m[3] === 'raw_syscalls:sys_enter' && PACKET_OUT.has(nr) && inAt >= 0) {
      if (nr === 1 && Number.parseInt(m[6] ?? '0', 16) === 8) continue;
      if (t - inAt < MAX_PATH_S) paths.push({ us: (t - inAt) * 1e6, cold, faults });
      lastPacket = t;
      inAt = -1;
    }
  }
  return paths;
}

export function describePaths(paths: PacketPath[]): string {
  const part = (cold: boolean): string => {
    const p = paths.filter((x) => x.cold === cold);
    if (p.length === 0) return `${cold ? 'cold' : 'warm'} none`;
    const us = p.map((x) => x.us);
    const faults = p.reduce((sum, x) => sum + x.faults, 0) / p.length;
    return `${cold ? 'cold' : 'warm'} ${p.length}: median ${median(us).toFixed(0)} us, p90 ${quantile(us, 0.9).toFixed(0)} us, ${faults.toFixed(2)} faults`;
  };
  return `${part(true)}; ${part(false)}`;
}
